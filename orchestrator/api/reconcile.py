"""Find the task a create with an unknown outcome may have made, through the list endpoint.

The provider echoes some request fields in each task (model, resolution, ratio, duration or frames, generate_audio,
service_tier, execution_expires_after) and maybe the seed: its docs do not promise a 2.x task reports the seed it was
sent. So a listed task is a candidate when every echoed field we sent agrees and it was created in the window; the seed
decides between candidates only where echoes are known to carry it (or where exactly one candidate carries ours).

The list may show a new task only some seconds after its create (list lag), so "no task" is only believed from a look
that began after `retry.RECONCILE_WINDOW_S`; earlier looks that find nothing are repeated. Several candidates that
nothing tells apart are reported as such, never guessed between: the caller decides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from orchestrator.api import retry as policy
from orchestrator.api.client import CREATE_WINDOW_SLACK_S, ArkClient
from orchestrator.api.types import CreateTaskRequest, Task, TaskPage

LIST_PAGE_SIZE = 100
LIST_MAX_PAGE = 500  # the endpoint accepts page_num up to 500

log = logging.getLogger("orchestrator.api")


@dataclass(frozen=True)
class Verdict:
    """What the list says about one create: its task, several indistinguishable candidates, or nothing."""

    found: Task | None = None
    candidates: tuple[Task, ...] = ()  # set (two or more) only when nothing tells them apart

    @property
    def ambiguous(self) -> bool:
        """True when several tasks match and none can be told to be ours."""
        return self.found is None and len(self.candidates) > 1


@dataclass(frozen=True)
class Window:
    """Bounds (unix seconds, the provider's clock give or take the slack) on when the task would have been made."""

    created_after: int
    created_before: int

    @classmethod
    def around(cls, sent_at: float, now: float) -> Window:
        """From just before the create was sent to just after now."""
        return cls(int(sent_at) - CREATE_WINDOW_SLACK_S, int(now) + CREATE_WINDOW_SLACK_S)


def matches(task: Task, req: CreateTaskRequest, window: Window) -> bool:
    """Whether a listed task agrees with the request in every field the provider echoes (the seed aside)."""
    created = task.created_at
    if created is None or not window.created_after <= created <= window.created_before:
        return False
    # With an endpoint id (ep-...) the task reports the model name instead; the list filter already matched it.
    if not req.model.startswith("ep-") and task.model != req.model:
        return False
    wanted = [
        (req.frames, task.frames),
        (None if req.frames is not None or req.duration == -1 else req.duration, task.duration),  # frames win
        (None if req.ratio == "adaptive" else req.ratio, task.ratio),  # adaptive comes back resolved
        (req.resolution, task.resolution),
        (req.generate_audio, task.generate_audio),
        (req.service_tier, task.service_tier),
        (req.execution_expires_after, task.execution_expires_after),
    ]
    # A field the task leaves out (2.0 mini may omit generate_audio) cannot tell anything apart.
    return all(want is None or got is None or want == got for want, got in wanted)


def choose(candidates: list[Task], seed: int | None, seed_echo: bool | None) -> Verdict:
    """Pick the create's task among the candidates, or report that it cannot be told (pure).

    `seed_echo`: True when tasks of this model are known to report the seed they were sent, False when known not to,
    None when not known yet.
    """
    same_seed = [t for t in candidates if seed is not None and seed >= 0 and t.seed == seed]
    if seed_echo:
        pool = same_seed
    elif len(same_seed) == 1:
        return Verdict(found=same_seed[0])  # a random 31-bit seed reported back is no coincidence
    else:
        pool = candidates
    if len(pool) == 1:
        return Verdict(found=pool[0])
    return Verdict(candidates=tuple(pool)) if pool else Verdict()


async def scan(client: ArkClient, req: CreateTaskRequest, window: Window, exclude: Collection[str]) -> list[Task]:
    """One pass over the list (newest first, paged) collecting the candidates not in `exclude`."""
    found: list[Task] = []
    for page_num in range(1, LIST_MAX_PAGE + 1):
        page = await client.list(page_num=page_num, page_size=LIST_PAGE_SIZE, model=req.model,
                                 service_tier=req.service_tier)  # unfiltered, the list shows only the default tier
        found += [task for task in page.items if task.id not in exclude and matches(task, req, window)]
        if _last_page(page, page_num) or _before_window(page.items, window.created_after):
            break
    return found


async def reconcile(
    client: ArkClient,
    req: CreateTaskRequest,
    sent_at: float,
    *,
    exclude: Collection[str] = (),
    seed_echo: bool | None = None,
    scale: float = 1.0,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Verdict:
    """Look for the task of a create sent at `sent_at` until found, found ambiguous, or the list-lag window has passed.

    `exclude` holds the ids the caller already owns (its journal's tasks, this process's creates): a storyboard may
    repeat a request, and a sibling's task must never be adopted as this create's orphan.
    """
    wait = sleep or client.sleep
    while True:
        looked = clock()
        verdict = choose(await scan(client, req, Window.around(sent_at, looked), exclude), req.seed, seed_echo)
        if verdict.found is not None or verdict.ambiguous:
            if verdict.ambiguous:
                log.warning("%d tasks match a create of %s and nothing they echo tells them apart: %s",
                            len(verdict.candidates), req.model, ", ".join(t.id for t in verdict.candidates))
            return verdict
        if policy.reconcile_done(sent_at, looked, scale):
            return verdict
        remaining = sent_at + policy.RECONCILE_WINDOW_S * scale - clock()
        await wait(max(min(policy.RECONCILE_STEP_S * scale, remaining), 0.0))


def _last_page(page: TaskPage, page_num: int) -> bool:
    return len(page.items) < LIST_PAGE_SIZE or page_num * LIST_PAGE_SIZE >= page.total


def _before_window(items: list[Task], created_after: int) -> bool:
    """True when this page reaches past the window in newest-first order, so later pages are older still.

    The provider does not document the order; if a page is not newest-first we keep reading rather than guess.
    """
    stamps = [t.created_at for t in items if t.created_at is not None]
    return bool(stamps) and stamps == sorted(stamps, reverse=True) and stamps[-1] < created_after
