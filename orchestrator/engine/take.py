"""The life of one take as a pure transition function: `step(life, event) -> (next life, actions)`.

A take is one intent and at most one task on the provider. Its phases::

    CREATE ──created──────────────────────────────▶ POLL ──succeeded──▶ FETCH ──fetched──▶ DONE
      │ ▲ ╲refused────▶ ENDED                        │ ▲ ╲failed/expired/cancelled/gone──▶ ENDED
      │ │  ╲frame URL refused: CREATE again, inline  │ │   ╲404 past the grace──▶ ASK_LIST ─▶ POLL | ENDED
      ▼ │nothing found                              404│(wait)        FETCH ─URL dead─▶ REFRESH ─▶ FETCH | STUCK
    RECONCILE ──found──▶ POLL        several alike ──▶ CANCEL ─all were queued─▶ CREATE | ENDED

`shot.py` drives it: it performs the phase's I/O (create, list, get, download) and feeds back what happened as an
event; the actions it gets back are journal writes and progress events, done before the next I/O. Every number that
bounds a loop (POSTs per take, URL refreshes, clip downloads, the 404 grace) comes from `orchestrator.api.retry`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from orchestrator.api import retry as policy
from orchestrator.api.types import TaskStatus
from orchestrator.engine.journal import TakeState


class Phase(StrEnum):
    """What the driver does next for the take."""

    CREATE = "create"  # send the create (the intent is written)
    RECONCILE = "reconcile"  # a create's outcome is unknown: find its task through the list before anything else
    CANCEL = "cancel"  # several queued tasks match and none can be told to be ours: cancel them, then create
    POLL = "poll"  # the task exists: look at it until it ends
    ASK_LIST = "ask_list"  # it answered 404 past the grace: only the list can still say it exists
    FETCH = "fetch"  # it succeeded: download the last frame (children go), then the clip
    REFRESH = "refresh"  # a result URL stopped working: get the task again for its URLs
    DONE = "done"  # the files are verified
    ENDED = "ended"  # ended without a video; whether a new take follows is the policy's call
    STUCK = "stuck"  # it succeeded but its files cannot be fetched now: the take stays as it is, the shot fails

    @property
    def terminal(self) -> bool:
        """True when the take's life is over (for this run)."""
        return self in (Phase.DONE, Phase.ENDED, Phase.STUCK)


@dataclass(frozen=True)
class Life:
    """Where the take is, and the counters that bound its loops."""

    phase: Phase
    created_at: float  # when the intent was written (our clock): the task cannot be older
    sent_at: float | None = None  # when the create whose outcome is unknown was sent
    posts: int = 0  # POST requests made for this take
    reserved: bool = False  # its cost is counted against this run's budget
    announced: bool = False  # "running" was reported
    missing_since: float | None = None  # first 404 of the current streak
    misses: int = 0
    refreshes: int = 0
    bad_clips: int = 0
    inline: bool = False  # the parent's frame goes inline: its URL was refused
    suspects: tuple[str, ...] = ()  # queued tasks that match a lost create indistinctly: to be cancelled
    settle_only: bool = False  # an earlier process's intent, settled before any create: found, or ended, never sent


# -- events: what the driver saw ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    """The create answered with this task id, after `posts` POSTs."""

    task_id: str
    posts: int = 1


@dataclass(frozen=True)
class Unknown:
    """The create may or may not have made a task (5xx, connection lost after sending)."""

    sent_at: float
    posts: int


@dataclass(frozen=True)
class Refused:
    """The create was refused: nothing was made."""

    code: str | None
    message: str
    status: int | None
    posts: int
    frame_url: bool = False  # the provider could not fetch the parent's frame URL we sent


@dataclass(frozen=True)
class OverBudget:
    """Counting the take's cost would pass the run's budget."""

    message: str


@dataclass(frozen=True)
class Found:
    """The list shows the create's task."""

    task_id: str


@dataclass(frozen=True)
class NoneFound:
    """No task matches, and the list-lag window has passed."""


@dataclass(frozen=True)
class Indistinct:
    """Several tasks match and nothing they echo tells them apart: (id, status) of each."""

    candidates: tuple[tuple[str, TaskStatus], ...]


@dataclass(frozen=True)
class Cancelled:
    """The queued candidates were cancelled; `left` are those that could not be."""

    left: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """A look at the task (GET, or the list)."""

    status: TaskStatus
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Missing:
    """The GET answered 404 at `now`."""

    now: float


@dataclass(frozen=True)
class Listed:
    """The list's answer about the task: its status, or None when it is not there."""

    status: TaskStatus | None


@dataclass(frozen=True)
class Fetched:
    """Both files are on disk and verified."""


@dataclass(frozen=True)
class FileUnreachable:
    """A result URL was refused or could not be reached."""

    reason: str


@dataclass(frozen=True)
class ClipUnusable:
    """The clip arrived whole but does not decode."""

    reason: str


@dataclass(frozen=True)
class Refreshed:
    """The task was got again: its URLs are the newest the provider gives."""


Event = (Created | Unknown | Refused | OverBudget | Found | NoneFound | Indistinct | Cancelled | Seen | Missing
         | Listed | Fetched | FileUnreachable | ClipUnusable | Refreshed)


# -- actions: what the driver records before its next I/O --------------------------------------------------------------


@dataclass(frozen=True)
class Submit:
    """Journal the task id (adopted: found through the list)."""

    task_id: str
    adopted: bool


@dataclass(frozen=True)
class AddPosts:
    """Count POSTs against the take's total."""

    count: int


@dataclass(frozen=True)
class Reserve:
    """Count the take's cost against this run's budget (an intent from an earlier run that will now create)."""


@dataclass(frozen=True)
class RecordSuccess:
    """Journal the succeeded task (URLs, tokens, cost, when the provider finished it)."""


@dataclass(frozen=True)
class End:
    """Journal how the take ended without a video."""

    state: TakeState
    code: str | None
    message: str
    retryable: bool
    stops_run: bool = False  # an account-wide refusal: every other create would be refused too


@dataclass(frozen=True)
class Halt:
    """The task succeeded (and is paid) but its files cannot be fetched now: the take stays, the shot fails."""

    reason: str


@dataclass(frozen=True)
class Emit:
    """A progress event."""

    kind: str
    data: tuple[tuple[str, Any], ...] = ()


Action = Submit | AddPosts | Reserve | RecordSuccess | End | Halt | Emit
Step = tuple[Life, tuple[Action, ...]]


class IllegalEvent(Exception):
    """An event the phase does not expect: a bug in the driver."""


def settling(created_at: float, posts: int) -> Life:
    """An intent an earlier process left without a task id, to be settled through the list before anything is
    created: it ends SUBMITTED (its task found), or ENDED (none made, or several alike)."""
    return Life(Phase.RECONCILE, created_at, sent_at=created_at, posts=posts, settle_only=True)


def start(state: TakeState, *, resumed: bool, created_at: float, reserved: bool, posts: int = 0) -> Life:
    """The life of a take as the journal left it; `resumed` when an earlier process wrote it."""
    phase = {
        TakeState.INTENT: Phase.RECONCILE if resumed else Phase.CREATE,
        TakeState.SUBMITTED: Phase.POLL,
        TakeState.SUCCEEDED: Phase.FETCH,
        TakeState.DOWNLOADED: Phase.FETCH,  # files damaged or missing: fetch them again
    }.get(state, Phase.ENDED)
    return Life(phase, created_at, sent_at=created_at if phase is Phase.RECONCILE else None, posts=posts,
                reserved=reserved)


def step(life: Life, event: Event, scale: float = 1.0) -> Step:
    """The next life and the actions to record, for one event in one phase."""
    handler = _HANDLERS.get(life.phase)
    if handler is None:
        raise IllegalEvent(f"{type(event).__name__} after the take ended ({life.phase})")
    return handler(life, event, scale)


def _create(life: Life, event: Event, _scale: float) -> Step:
    if isinstance(event, Created):
        return (replace(life, phase=Phase.POLL, posts=life.posts + event.posts),
                (AddPosts(event.posts), Submit(event.task_id, adopted=False)))
    if isinstance(event, Unknown):
        return (replace(life, phase=Phase.RECONCILE, sent_at=event.sent_at, posts=life.posts + event.posts),
                (AddPosts(event.posts),))
    if isinstance(event, Refused):
        posts = replace(life, posts=life.posts + event.posts)
        if event.frame_url and not life.inline and policy.create_posts_left(posts.posts):
            note = Emit("retrying", (("reason", f"the parent's frame URL was refused ({event.message}): "
                                                "sending the stored frame inline"),))
            return replace(posts, inline=True), (AddPosts(event.posts), note)
        return _ended(posts, TakeState.FAILED, event.code or str(event.status), event.message, retryable=False,
                      extra=(AddPosts(event.posts),), stops_run=event.status in (401, 403))
    if isinstance(event, OverBudget):
        return _ended(life, TakeState.FAILED, policy.BUDGET_CODE, event.message, retryable=False)
    raise IllegalEvent(f"{type(event).__name__} while creating")


def _reconcile(life: Life, event: Event, _scale: float) -> Step:
    if isinstance(event, Found):
        return replace(life, phase=Phase.POLL), (Submit(event.task_id, adopted=True),)
    if isinstance(event, NoneFound):
        return _create_again(life, "no task was made: creating it")
    if isinstance(event, Indistinct):
        ids = ", ".join(task_id for task_id, _ in event.candidates)
        if all(status is TaskStatus.QUEUED for _, status in event.candidates):
            note = Emit("retrying", (("reason", f"tasks {ids} match this create and nothing tells them apart: "
                                                "cancelling them (queued, so unbilled) before creating it"),))
            return replace(life, phase=Phase.CANCEL, suspects=tuple(i for i, _ in event.candidates)), (note,)
        return _indistinct(life, ids)
    raise IllegalEvent(f"{type(event).__name__} while reconciling")


def _cancel(life: Life, event: Event, _scale: float) -> Step:
    if not isinstance(event, Cancelled):
        raise IllegalEvent(f"{type(event).__name__} while cancelling")
    if event.left:
        return _indistinct(replace(life, suspects=()), ", ".join(event.left))
    return _create_again(replace(life, suspects=()), "the indistinct candidates were cancelled: creating it")


def _create_again(life: Life, reason: str) -> Step:
    if life.settle_only:  # the run makes a new take for it once every interrupted create is settled
        return _ended(life, TakeState.FAILED, policy.NOT_CREATED_CODE,
                      "the interrupted create made no task (the list shows none)", retryable=True)
    if not policy.create_posts_left(life.posts):
        return _ended(life, TakeState.FAILED, policy.UNKNOWN_CODE,
                      f"{life.posts} creates went unanswered and the list shows no task of them", retryable=False)
    reserve: tuple[Action, ...] = () if life.reserved else (Reserve(),)
    return replace(life, phase=Phase.CREATE, reserved=True, sent_at=None), (*reserve, Emit("retrying", (
        ("reason", reason),)))


def _indistinct(life: Life, ids: str) -> Step:
    return _ended(life, TakeState.FAILED, policy.AMBIGUOUS_CODE,
                  f"tasks {ids} all match this shot's lost create and nothing they echo tells them apart; not "
                  "adopting one (it may be another shot's) and not paying for another: look at them, cancel what "
                  "is not wanted, then run again", retryable=False)


def _poll(life: Life, event: Event, scale: float) -> Step:
    if isinstance(event, Seen):
        return _seen(replace(life, missing_since=None, misses=0), event)
    if isinstance(event, Missing):
        since = life.missing_since if life.missing_since is not None else event.now
        verdict = policy.missing_verdict(life.created_at, since, event.now, scale)
        if verdict is policy.Missing.GONE:
            return _gone(life, "404 past the provider's 7-day retention")
        phase = Phase.POLL if verdict is policy.Missing.WAIT else Phase.ASK_LIST
        return replace(life, phase=phase, missing_since=since, misses=life.misses + 1), ()
    raise IllegalEvent(f"{type(event).__name__} while polling")


def _ask_list(life: Life, event: Event, _scale: float) -> Step:
    if not isinstance(event, Listed):
        raise IllegalEvent(f"{type(event).__name__} while asking the list")
    if event.status is None:
        return _gone(life, "404 past the grace and absent from the list")
    return _seen(replace(life, phase=Phase.POLL, missing_since=None, misses=0), Seen(event.status))


def _seen(life: Life, event: Seen) -> Step:
    status = event.status
    if status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        if status is TaskStatus.RUNNING and not life.announced:
            return replace(life, phase=Phase.POLL, announced=True), (Emit("running"),)
        return replace(life, phase=Phase.POLL), ()
    if status is TaskStatus.SUCCEEDED:
        return replace(life, phase=Phase.FETCH), (RecordSuccess(),)
    message = event.message or f"task {status.value}"
    if status is TaskStatus.EXPIRED:
        return _ended(life, TakeState.EXPIRED, event.code or "expired", message, retryable=True)
    if status is TaskStatus.CANCELLED:
        return _ended(life, TakeState.CANCELLED, event.code or "cancelled", message, retryable=False)
    code = event.code or status.value  # failed, or a status this client does not know (a terminal failure)
    return _ended(life, TakeState.FAILED, code, message, retryable=policy.is_resubmittable(code))


def _gone(life: Life, why: str) -> Step:
    return _ended(life, TakeState.EXPIRED, policy.GONE_CODE, f"the task is gone ({why})", retryable=True)


def _fetch(life: Life, event: Event, _scale: float) -> Step:
    if isinstance(event, Fetched):
        return replace(life, phase=Phase.DONE), ()
    if isinstance(event, FileUnreachable):
        if life.refreshes < policy.URL_REFRESHES:
            return replace(life, phase=Phase.REFRESH), ()
        hint = " (getting the task again did not renew its URLs)" if life.refreshes else ""
        return replace(life, phase=Phase.STUCK), (Halt(f"{event.reason}{hint}"),)
    if isinstance(event, ClipUnusable):
        if life.bad_clips + 1 < policy.CLIP_FETCHES:
            return (replace(life, bad_clips=life.bad_clips + 1),
                    (Emit("retrying", (("reason", f"downloaded clip unusable: {event.reason}"),)),))
        return replace(life, phase=Phase.STUCK), (Halt("the clip could not be downloaded intact"),)
    raise IllegalEvent(f"{type(event).__name__} while fetching")


def _refresh(life: Life, event: Event, _scale: float) -> Step:
    if isinstance(event, Refreshed):
        return replace(life, phase=Phase.FETCH, refreshes=life.refreshes + 1), ()
    if isinstance(event, Missing):
        return replace(life, phase=Phase.STUCK), (Halt("the provider no longer has the task, so its files cannot be "
                                                       "fetched again"),)
    raise IllegalEvent(f"{type(event).__name__} while refreshing URLs")


def _ended(life: Life, state: TakeState, code: str | None, message: str, *, retryable: bool,
           extra: tuple[Action, ...] = (), stops_run: bool = False) -> Step:
    return replace(life, phase=Phase.ENDED), (*extra, End(state, code, message, retryable, stops_run))


_HANDLERS = {
    Phase.CREATE: _create, Phase.RECONCILE: _reconcile, Phase.CANCEL: _cancel, Phase.POLL: _poll,
    Phase.ASK_LIST: _ask_list, Phase.FETCH: _fetch, Phase.REFRESH: _refresh,
}
