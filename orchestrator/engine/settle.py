"""Interrupted creates, settled before this run creates anything.

A process killed inside a create call leaves an intent without a task id; its task may exist. The list can tell that
task from another create's only if nothing alike is unresolved at the same time: the gate guarantees it within one
process (`engine.gate`), and across crashes it holds only if every intent an earlier process left is settled before
any new create: its task found and adopted, or known never made (ended, so its shot makes a new take), or found among
several alike (never guessed: queued ones are cancelled, else the shot stops). Intents of different echo signatures
cannot be confused, so those are settled side by side; intents of one signature one after the other.

The list search and the cancelling here also serve the shot runner for a create it has just lost.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from orchestrator.api.errors import ApiError
from orchestrator.api.reconcile import reconcile
from orchestrator.engine import request as build
from orchestrator.engine import take as machine
from orchestrator.engine.context import ShotContext
from orchestrator.engine.gate import echo_signature
from orchestrator.engine.journal import Take, TakeState
from orchestrator.engine.take import Life, Phase


async def look_for_task(ctx: ShotContext, take: Take, life: Life) -> machine.Event:
    """Search the list for the task of the take's create (sent at `life.sent_at`): Found, NoneFound or
    Indistinct. Tasks the journal or this process already own are never candidates."""
    assert life.sent_at is not None
    req = build.from_summary(take.request)
    verdict = await reconcile(ctx.client, req, life.sent_at, exclude=ctx.journal.task_ids() | ctx.gate.known,
                              seed_echo=ctx.journal.seed_echo(req.model), scale=ctx.polls.scale, clock=ctx.clock,
                              sleep=ctx.sleep)
    if verdict.found is not None:
        return machine.Found(verdict.found.id)
    if verdict.ambiguous:
        return machine.Indistinct(tuple((t.id, t.status) for t in verdict.candidates))
    return machine.NoneFound()


async def cancel_suspects(ctx: ShotContext, life: Life) -> machine.Event:
    """Cancel the queued tasks that match a lost create indistinctly (queued tasks are not billed)."""
    left: list[str] = []
    for task_id in life.suspects:
        try:
            await ctx.client.delete(task_id)
        except ApiError:
            left.append(task_id)  # it started running meanwhile (or is gone): it can no longer be cancelled
    return machine.Cancelled(tuple(left))


async def settle_intents(ctx: ShotContext) -> None:
    """Settle every intent without a task id that earlier processes left in the journal."""
    groups: dict[str, list[Take]] = defaultdict(list)
    for take in ctx.journal.takes():
        if take.state is TakeState.INTENT:
            groups[echo_signature(build.from_summary(take.request))].append(take)
    await asyncio.gather(*(_settle_group(ctx, signature, takes) for signature, takes in groups.items()))


async def _settle_group(ctx: ShotContext, signature: str, takes: list[Take]) -> None:
    async with ctx.gate.hold_signature(signature):  # another run of this process may be creating one alike
        for take in sorted(takes, key=lambda t: t.intent_at):
            await _settle_one(ctx, take)


async def _settle_one(ctx: ShotContext, take: Take) -> None:
    life = machine.settling(take.intent_at, take.posts)
    while life.phase in (Phase.RECONCILE, Phase.CANCEL):  # found: POLL, for its shot's runner to go on with
        event = await (look_for_task(ctx, take, life) if life.phase is Phase.RECONCILE
                       else cancel_suspects(ctx, life))
        life, actions = machine.step(life, event, ctx.polls.scale)
        for action in actions:
            take = record(ctx, take, action)


def record(ctx: ShotContext, take: Take, action: machine.Action) -> Take:
    """The journal and progress part of an action (the shot runner adds budget and timing around it)."""
    if isinstance(action, machine.Submit):
        ctx.gate.known.add(action.task_id)
        take = ctx.journal.set_submitted(take.id, action.task_id)
        extra = {"adopted": True} if action.adopted else {}
        ctx.events.emit("submitted", take.shot, task_id=action.task_id, seed=take.seed, attempt=take.attempt,
                        **extra)
    elif isinstance(action, machine.AddPosts):
        take = ctx.journal.add_posts(take.id, action.count)
    elif isinstance(action, machine.End):
        take = ctx.journal.set_ended(take.id, action.state, action.code, action.message, action.retryable)
    elif isinstance(action, machine.Emit):
        ctx.events.emit(action.kind, take.shot, task_id=take.task_id, **dict(action.data))
    return take
