"""The retry policy, all of it: pure functions and constants (seedance-api.md §§8, 11). The client feeds the HTTP part
to tenacity; the take machine (`orchestrator.engine.take`) asks the rest. Nothing else in the product decides whether
to try again, how long to wait, or how many requests an operation may make.

What is retried: no response at all (connection errors, timeouts), 408, 409, 429 and 5xx, and the provider codes that
mean "slow down" or "our fault" (rate and burst limits, ServerOverloaded, RequestBurstTooFast, InternalServiceError,
QuotaExceeded, which also means "too many queued tasks" and drains as they start). What is not: other 4xx, and
SetLimitExceeded (a safe-experience cap a person set). A server's `x-should-retry` header overrides the table.

Create is stricter: `create_reached_server` says when a failed create may have made a task anyway; such a
create is reconciled, never resent. Every operation has a bounded total of requests: `MAX_ATTEMPTS` per call of the
client, `CREATE_POSTS` per take across rate-limit waits and ambiguous rounds.

The provider documents none of these, so they are waited out rather than believed: how soon the list shows a new task
(`RECONCILE_WINDOW_S`), whether a GET right after a create finds the task (`MISSING_GRACE_S`), how long result URLs
stay usable (`URL_FRESH_S`, counted from the provider's completion time). Windows are real-service seconds, multiplied
by the poll scale (`ORCHESTRATOR_POLL_SCALE`) like every wait of the engine.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import httpx

MAX_ATTEMPTS = 5  # requests per call (the SDKs make 3); a film run rides out a longer burst instead of failing a shot
CREATE_POSTS = 12  # POSTs one take may make in all, rate-limit waits and ambiguous rounds (8 5xx in a row fit)
BACKOFF_BASE = 0.5  # seconds; the first retry waits up to this
BACKOFF_CAP = 8.0  # the SDKs' cap on exponential backoff
RETRY_AFTER_CAP = 60.0  # a server may ask for longer; we come back after this at most and ask again

RETRYABLE_STATUSES = frozenset({408, 409, 429})
RETRYABLE_CODES = frozenset({
    "ServerOverloaded",
    "RequestBurstTooFast",
    "InternalServiceError",
    "InflightBatchsizeExceeded",  # concurrency cap: frees up as running tasks finish
    "ModelAccountRpmRateLimitExceeded",
    "ModelAccountTpmRateLimitExceeded",
    "ModelAccountIpmRateLimitExceeded",
    "APIAccountRpmRateLimitExceeded",
    "AccountRateLimitExceeded",
    "QuotaExceeded",  # also "too many queued tasks": bounded by CREATE_POSTS, so a used-up quota still ends the shot
})
RATE_LIMIT_CODE_PREFIX = "RateLimitExceeded."  # RateLimitExceeded.EndpointRPMExceeded, .EndpointTPMExceeded, ...
FATAL_CODES = frozenset({"SetLimitExceeded"})
# Task failures worth a new create: provider faults, and output moderation, which is probabilistic.
RESUBMITTABLE_TASK_CODE_PREFIXES = ("InternalServiceError", "OutputVideoSensitiveContentDetected",
                                    "OutputAudioSensitiveContentDetected")
# Take-level codes of our own (not the provider's): why a take ended without a video.
GONE_CODE = "TaskGone"  # 404 past the grace and absent from the list: the record is gone (retention, deletion)
AMBIGUOUS_CODE = "AmbiguousCreate"  # several tasks match a lost create and nothing they echo tells them apart
UNKNOWN_CODE = "CreateOutcomeUnknown"  # the create budget ran out with no task found
NOT_CREATED_CODE = "NotCreated"  # an earlier process's interrupted create made no task (the list shows none)
BUDGET_CODE = "BudgetStop"  # creating it would pass the run's budget

# Windows the provider does not document, in real-service seconds (multiplied by the poll scale).
RECONCILE_WINDOW_S = 60.0  # how long after a create the list may still not show its task (list lag)
RECONCILE_STEP_S = 15.0  # between two looks at the list while that window lasts (the list pacer may wait longer)
MISSING_GRACE_S = 120.0  # how long a task we created may answer 404 (read-after-write) before the list is asked
MISSING_WAIT_BASE_S = 2.0  # first wait after a 404 on a known task; doubles up to the cap
MISSING_WAIT_CAP_S = 30.0
RETENTION_S = 7 * 86_400.0  # the provider keeps a task 7 days from its creation; after that a 404 means gone
URL_TTL_S = 86_400.0  # result URLs live 24 h from the task's completion (the provider's clock)
URL_FRESH_S = 20 * 3600.0  # use a URL only while this young: 4 h of margin for clock skew and slow creates
URL_REFRESHES = 3  # times a result URL that stopped working is asked for again (a GET) before the shot fails
CLIP_FETCHES = 2  # downloads of one clip that arrive whole but do not decode, before the shot fails


class ExcKind(StrEnum):
    """Why no response arrived; decides both retryability and whether a create may have reached the server."""

    CONNECT = "connect"  # the connection was never made: nothing was sent
    CONNECT_TIMEOUT = "connect_timeout"
    POOL_TIMEOUT = "pool_timeout"  # no free connection in our pool: nothing was sent
    WRITE = "write"  # lost while sending: part of the request may have arrived
    WRITE_TIMEOUT = "write_timeout"
    READ = "read"  # lost after sending (reset, closed without a response)
    READ_TIMEOUT = "read_timeout"
    PROTOCOL = "protocol"  # the server broke HTTP, e.g. closed without a response
    LOCAL = "local"  # our request was invalid before it left (a bug, not a network fault)
    OTHER = "other"


NOT_SENT = frozenset({ExcKind.CONNECT, ExcKind.CONNECT_TIMEOUT, ExcKind.POOL_TIMEOUT, ExcKind.LOCAL})
TIMEOUTS = frozenset({ExcKind.CONNECT_TIMEOUT, ExcKind.POOL_TIMEOUT, ExcKind.WRITE_TIMEOUT, ExcKind.READ_TIMEOUT})

# Most specific first: ConnectTimeout is a TimeoutException, RemoteProtocolError a TransportError.
_KINDS: tuple[tuple[type[httpx.TransportError], ExcKind], ...] = (
    (httpx.ConnectTimeout, ExcKind.CONNECT_TIMEOUT),
    (httpx.PoolTimeout, ExcKind.POOL_TIMEOUT),
    (httpx.WriteTimeout, ExcKind.WRITE_TIMEOUT),
    (httpx.ReadTimeout, ExcKind.READ_TIMEOUT),
    (httpx.ConnectError, ExcKind.CONNECT),
    (httpx.WriteError, ExcKind.WRITE),
    (httpx.ReadError, ExcKind.READ),
    (httpx.RemoteProtocolError, ExcKind.PROTOCOL),
    (httpx.LocalProtocolError, ExcKind.LOCAL),
    (httpx.UnsupportedProtocol, ExcKind.LOCAL),
)


class Rng(Protocol):
    """What backoff needs from a random source (`random.Random` fits)."""

    def uniform(self, a: float, b: float) -> float: ...


def classify(exc: httpx.TransportError) -> ExcKind:
    """The kind of a transport failure."""
    for cls, kind in _KINDS:
        if isinstance(exc, cls):
            return kind
    return ExcKind.OTHER


def parse_should_retry(value: str | None) -> bool | None:
    """The server's `x-should-retry` verdict: True, False, or None when absent or neither."""
    if value is None:
        return None
    return {"true": True, "false": False}.get(value.strip().lower())


def is_retryable(
    status: int | None, code: str | None, exc_kind: ExcKind | None, *, should_retry: bool | None = None
) -> bool:
    """Whether the policy allows another attempt; `exc_kind` is None when a response (with `status`) arrived."""
    if exc_kind is not None:
        return exc_kind is not ExcKind.LOCAL
    if should_retry is not None:
        return should_retry
    if code in FATAL_CODES:
        return False
    if code is not None and (code in RETRYABLE_CODES or code.startswith(RATE_LIMIT_CODE_PREFIX)):
        return True
    return status is not None and (status in RETRYABLE_STATUSES or status >= 500)


def create_reached_server(status: int | None, exc_kind: ExcKind | None) -> bool:
    """Whether a failed create may have made a task: a 5xx, or a connection lost after (part of) it was sent."""
    if exc_kind is not None:
        return exc_kind not in NOT_SENT
    # A 4xx is a refusal (nothing created); a 5xx may come from a gateway after the backend accepted the task.
    return status is not None and status >= 500


def is_resubmittable(task_error_code: str | None) -> bool:
    """Whether a failed task is worth creating again (provider fault or probabilistic output moderation)."""
    return task_error_code is not None and task_error_code.startswith(RESUBMITTABLE_TASK_CODE_PREFIXES)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date); past -> 0, absent or garbage -> None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _seconds_until_http_date(text: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means the zone was "-0000"
        when = when.replace(tzinfo=UTC)
    reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return max((when - reference).total_seconds(), 0.0)


def backoff_seconds(attempt: int, retry_after: float | None, rng: Rng) -> float:
    """Wait before retry number `attempt` (0-based): Retry-After capped, else full-jitter exponential backoff."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 32))  # min(): 2**huge overflows a float
    return rng.uniform(0.0, ceiling)


def create_posts_left(posts: int) -> int:
    """How many more POSTs a take that has made `posts` may send."""
    return max(CREATE_POSTS - posts, 0)


def may_resubmit(code: str | None, expired: bool, attempts: int, max_attempts: int) -> bool:
    """Whether a take that ended without a video is followed by a new one (a new task, paid if it succeeds)."""
    return attempts < max_attempts and (expired or code in (GONE_CODE, NOT_CREATED_CODE) or is_resubmittable(code))


def reseed(code: str | None) -> bool:
    """A new take after output moderation gets a new seed: the same output would be refused again."""
    return (code or "").startswith("Output")


class Missing(StrEnum):
    """What a 404 on a task we know we created means."""

    WAIT = "wait"  # not visible yet (read-after-write): look again after a back-off
    ASK_LIST = "ask_list"  # past the grace: only the list may still say it exists
    GONE = "gone"  # past the provider's retention: it is gone


def missing_verdict(created_at: float, first_missing: float, now: float, scale: float) -> Missing:
    """A 404 for a task created at `created_at`, first 404 seen at `first_missing` (our clock, unix seconds)."""
    if now - created_at >= RETENTION_S:
        return Missing.GONE
    if now - first_missing < MISSING_GRACE_S * scale:
        return Missing.WAIT
    return Missing.ASK_LIST


def missing_wait(misses: int, scale: float) -> float:
    """Seconds to wait before looking again after the `misses`-th 404 in a row (1-based)."""
    return min(MISSING_WAIT_CAP_S, MISSING_WAIT_BASE_S * 2.0 ** min(max(misses - 1, 0), 16)) * scale


def reconcile_done(created_at: float, looked_at: float, scale: float) -> bool:
    """Whether a look at the list that began at `looked_at` ends the search for a task created at `created_at`:
    only a look that began after the list-lag window can say "no task"."""
    return looked_at - created_at >= RECONCILE_WINDOW_S * scale


def url_fresh(finished_at: float | None, now: float) -> bool:
    """Whether a result URL given for a task the provider finished at `finished_at` may still be handed on."""
    return finished_at is not None and now - finished_at < URL_FRESH_S
