"""The take machine as a table: (phase, event) -> (next phase, the actions recorded). Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from orchestrator.api import retry as policy
from orchestrator.api.types import TaskStatus
from orchestrator.engine import take as m
from orchestrator.engine.journal import TakeState
from orchestrator.engine.take import Life, Phase

T0 = 1_780_000_000.0
S = TaskStatus


def life(phase: Phase, **fields: Any) -> Life:
    return replace(Life(phase, created_at=T0), **fields)


def kinds(actions: tuple[m.Action, ...]) -> list[str]:
    """Action names, with End's state and code and Emit's kind, for compact expectations."""
    out = []
    for a in actions:
        if isinstance(a, m.End):
            out.append(f"End({a.state.value},{a.code},{'retry' if a.retryable else 'final'})")
        elif isinstance(a, m.Emit):
            out.append(f"Emit({a.kind})")
        elif isinstance(a, m.Submit):
            out.append(f"Submit({a.task_id}{',adopted' if a.adopted else ''})")
        elif isinstance(a, m.AddPosts):
            out.append(f"AddPosts({a.count})")
        else:
            out.append(type(a).__name__)
    return out


GRACE = policy.MISSING_GRACE_S
TABLE: list[tuple[str, Life, m.Event, Phase, list[str]]] = [
    # -- creating ---------------------------------------------------------------------------------------------------
    ("created", life(Phase.CREATE), m.Created("t1", 2), Phase.POLL, ["AddPosts(2)", "Submit(t1)"]),
    ("lost answer: reconcile, never resend", life(Phase.CREATE), m.Unknown(T0 + 1, 1), Phase.RECONCILE,
     ["AddPosts(1)"]),
    ("refused: final, nothing made", life(Phase.CREATE), m.Refused("InvalidParameter", "bad", 400, 1),
     Phase.ENDED, ["AddPosts(1)", "End(failed,InvalidParameter,final)"]),
    ("rate limited after the client's tries: final", life(Phase.CREATE),
     m.Refused("ServerOverloaded", "slow down", 429, 5), Phase.ENDED,
     ["AddPosts(5)", "End(failed,ServerOverloaded,final)"]),
    ("frame URL refused: again, inline", life(Phase.CREATE),
     m.Refused("InvalidParameter", "resource download failed", 400, 1, frame_url=True), Phase.CREATE,
     ["AddPosts(1)", "Emit(retrying)"]),
    ("frame refused even inline: final", life(Phase.CREATE, inline=True),
     m.Refused("InvalidParameter", "resource download failed", 400, 1, frame_url=True), Phase.ENDED,
     ["AddPosts(1)", "End(failed,InvalidParameter,final)"]),
    ("over budget", life(Phase.CREATE), m.OverBudget("too much"), Phase.ENDED,
     [f"End(failed,{policy.BUDGET_CODE},final)"]),
    # -- reconciling ------------------------------------------------------------------------------------------------
    ("found: adopted", life(Phase.RECONCILE, sent_at=T0), m.Found("t2"), Phase.POLL, ["Submit(t2,adopted)"]),
    ("none found: create (this run's intent, already reserved)", life(Phase.RECONCILE, reserved=True, posts=1),
     m.NoneFound(), Phase.CREATE, ["Emit(retrying)"]),
    ("none found for an earlier run's intent: reserve, then create", life(Phase.RECONCILE), m.NoneFound(),
     Phase.CREATE, ["Reserve", "Emit(retrying)"]),
    ("none found, create budget spent: final", life(Phase.RECONCILE, posts=policy.CREATE_POSTS), m.NoneFound(),
     Phase.ENDED, [f"End(failed,{policy.UNKNOWN_CODE},final)"]),
    ("indistinct, all queued: cancel them", life(Phase.RECONCILE),
     m.Indistinct((("a", S.QUEUED), ("b", S.QUEUED))), Phase.CANCEL, ["Emit(retrying)"]),
    ("indistinct, one running: never guess, never pay twice", life(Phase.RECONCILE),
     m.Indistinct((("a", S.QUEUED), ("b", S.RUNNING))), Phase.ENDED, [f"End(failed,{policy.AMBIGUOUS_CODE},final)"]),
    ("cancelled them all: create", life(Phase.CANCEL, reserved=True, suspects=("a", "b")), m.Cancelled(()),
     Phase.CREATE, ["Emit(retrying)"]),
    ("one could not be cancelled: final", life(Phase.CANCEL, suspects=("a", "b")), m.Cancelled(("b",)),
     Phase.ENDED, [f"End(failed,{policy.AMBIGUOUS_CODE},final)"]),
    # -- polling ----------------------------------------------------------------------------------------------------
    ("queued", life(Phase.POLL), m.Seen(S.QUEUED), Phase.POLL, []),
    ("running, first time", life(Phase.POLL), m.Seen(S.RUNNING), Phase.POLL, ["Emit(running)"]),
    ("running, again", life(Phase.POLL, announced=True), m.Seen(S.RUNNING), Phase.POLL, []),
    ("succeeded", life(Phase.POLL), m.Seen(S.SUCCEEDED), Phase.FETCH, ["RecordSuccess"]),
    ("output moderation: a new take may pass", life(Phase.POLL),
     m.Seen(S.FAILED, "OutputVideoSensitiveContentDetected", "no"), Phase.ENDED,
     ["End(failed,OutputVideoSensitiveContentDetected,retry)"]),
    ("input moderation: final", life(Phase.POLL), m.Seen(S.FAILED, "InputTextSensitiveContentDetected", "no"),
     Phase.ENDED, ["End(failed,InputTextSensitiveContentDetected,final)"]),
    ("expired", life(Phase.POLL), m.Seen(S.EXPIRED), Phase.ENDED, ["End(expired,expired,retry)"]),
    ("cancelled by someone", life(Phase.POLL), m.Seen(S.CANCELLED), Phase.ENDED, ["End(cancelled,cancelled,final)"]),
    ("a status we do not know: terminal failure", life(Phase.POLL), m.Seen(S.UNKNOWN, "paused"), Phase.ENDED,
     ["End(failed,paused,final)"]),
    ("404 right after the create: not expired, look again", life(Phase.POLL), m.Missing(T0 + 1), Phase.POLL, []),
    ("404 within the grace", life(Phase.POLL, missing_since=T0 + 1, misses=3), m.Missing(T0 + GRACE), Phase.POLL,
     []),
    ("404 past the grace: ask the list", life(Phase.POLL, missing_since=T0 + 1, misses=9),
     m.Missing(T0 + 1 + GRACE), Phase.ASK_LIST, []),
    ("404 past the 7-day retention: gone", life(Phase.POLL), m.Missing(T0 + policy.RETENTION_S), Phase.ENDED,
     [f"End(expired,{policy.GONE_CODE},retry)"]),
    ("the list shows it running", life(Phase.ASK_LIST, missing_since=T0, misses=9), m.Listed(S.RUNNING), Phase.POLL,
     ["Emit(running)"]),
    ("the list shows it succeeded", life(Phase.ASK_LIST), m.Listed(S.SUCCEEDED), Phase.FETCH, ["RecordSuccess"]),
    ("absent from the list too: gone", life(Phase.ASK_LIST), m.Listed(None), Phase.ENDED,
     [f"End(expired,{policy.GONE_CODE},retry)"]),
    # -- fetching ---------------------------------------------------------------------------------------------------
    ("fetched", life(Phase.FETCH), m.Fetched(), Phase.DONE, []),
    ("URL dead: get the task again", life(Phase.FETCH), m.FileUnreachable("403"), Phase.REFRESH, []),
    ("URL dead after every refresh: stuck, the take stays", life(Phase.FETCH, refreshes=policy.URL_REFRESHES),
     m.FileUnreachable("403"), Phase.STUCK, ["Halt"]),
    ("refreshed", life(Phase.REFRESH), m.Refreshed(), Phase.FETCH, []),
    ("the task is gone while refreshing", life(Phase.REFRESH), m.Missing(T0), Phase.STUCK, ["Halt"]),
    ("clip does not decode: fetch it again", life(Phase.FETCH), m.ClipUnusable("moov"), Phase.FETCH,
     ["Emit(retrying)"]),
    ("clip does not decode twice: stuck", life(Phase.FETCH, bad_clips=policy.CLIP_FETCHES - 1),
     m.ClipUnusable("moov"), Phase.STUCK, ["Halt"]),
]


@pytest.mark.parametrize(("case", "before", "event", "phase", "actions"), TABLE, ids=[row[0] for row in TABLE])
def test_transition(case: str, before: Life, event: m.Event, phase: Phase, actions: list[str]) -> None:
    after, done = m.step(before, event)
    assert (after.phase, kinds(done)) == (phase, actions), case


@pytest.mark.parametrize(("state", "resumed", "phase"), [
    (TakeState.INTENT, False, Phase.CREATE),
    (TakeState.INTENT, True, Phase.RECONCILE),  # the process died inside (or before) its create: look first
    (TakeState.SUBMITTED, True, Phase.POLL),
    (TakeState.SUCCEEDED, True, Phase.FETCH),
    (TakeState.DOWNLOADED, True, Phase.FETCH),  # only resumed when its files are damaged
    (TakeState.FAILED, True, Phase.ENDED),
])
def test_start(state: TakeState, resumed: bool, phase: Phase) -> None:
    started = m.start(state, resumed=resumed, created_at=T0, reserved=not resumed)
    assert started.phase is phase
    assert (started.sent_at == T0) is (phase is Phase.RECONCILE)


def test_posts_accumulate_and_bound_the_creates() -> None:
    """Eight unanswered creates in a row fit the budget; the list finding nothing after the last one ends it."""
    current = life(Phase.CREATE, reserved=True)
    for _ in range(8):
        current, _ = m.step(current, m.Unknown(T0, 1))
        current, _ = m.step(current, m.NoneFound())
        assert current.phase is Phase.CREATE
    assert current.posts == 8
    current, _ = m.step(current, m.Unknown(T0, policy.CREATE_POSTS - 8))
    current, actions = m.step(current, m.NoneFound())
    assert current.phase is Phase.ENDED and kinds(actions) == [f"End(failed,{policy.UNKNOWN_CODE},final)"]


def test_an_account_wide_refusal_stops_the_run() -> None:
    _, actions = m.step(life(Phase.CREATE), m.Refused("AuthenticationError", "key", 401, 1))
    assert any(isinstance(a, m.End) and a.stops_run for a in actions)
    _, actions = m.step(life(Phase.CREATE), m.Refused("InvalidParameter", "bad", 400, 1))
    assert not any(isinstance(a, m.End) and a.stops_run for a in actions)


def test_a_404_streak_resets_when_the_task_is_seen() -> None:
    seen, _ = m.step(life(Phase.POLL, missing_since=T0, misses=4), m.Seen(S.QUEUED))
    assert (seen.missing_since, seen.misses) == (None, 0)


def test_the_grace_scales_with_the_poll_scale() -> None:
    missing = life(Phase.POLL, missing_since=T0)
    late = m.Missing(T0 + GRACE * 0.01 + 0.1)
    assert m.step(missing, late, scale=0.01)[0].phase is Phase.ASK_LIST
    assert m.step(missing, late, scale=1.0)[0].phase is Phase.POLL


@pytest.mark.parametrize("phase", [Phase.DONE, Phase.ENDED, Phase.STUCK])
def test_nothing_follows_the_end(phase: Phase) -> None:
    with pytest.raises(m.IllegalEvent):
        m.step(life(phase), m.Fetched())


@pytest.mark.parametrize(("phase", "event"), [
    (Phase.CREATE, m.Seen(S.QUEUED)), (Phase.POLL, m.Created("x")), (Phase.FETCH, m.NoneFound()),
    (Phase.RECONCILE, m.Fetched()), (Phase.ASK_LIST, m.Missing(T0)), (Phase.CANCEL, m.Found("x")),
])
def test_an_event_out_of_place_is_a_bug(phase: Phase, event: m.Event) -> None:
    with pytest.raises(m.IllegalEvent):
        m.step(life(phase), event)
