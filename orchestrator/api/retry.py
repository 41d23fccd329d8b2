"""The retry policy: pure functions and constants (seedance-api.md §§8, 11); the client feeds them to tenacity.

What is retried: no response at all (connection errors, timeouts), 408, 409, 429 and 5xx, and the provider codes that
mean "slow down" or "our fault" (rate and burst limits, ServerOverloaded, RequestBurstTooFast, InternalServiceError).
What is not: other 4xx, and the 429 codes that mean a quota is used up (QuotaExceeded, SetLimitExceeded): waiting a
few seconds does not refill a trial or 5-hour quota. A server's `x-should-retry` header overrides the table.

Create is stricter (DESIGN.md §5): `create_reached_server` says when a failed create may have made a task anyway; such a
create is reconciled, never resent.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import httpx

MAX_ATTEMPTS = 5  # the SDKs make 3; a long film run rides out a longer rate-limit burst instead of failing a shot
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
})
RATE_LIMIT_CODE_PREFIX = "RateLimitExceeded."  # RateLimitExceeded.EndpointRPMExceeded, .EndpointTPMExceeded, ...
FATAL_CODES = frozenset({"QuotaExceeded", "SetLimitExceeded"})
# Task failures worth a new create (DESIGN.md §5): provider faults, and output moderation, which is probabilistic.
RESUBMITTABLE_TASK_CODE_PREFIXES = ("InternalServiceError", "OutputVideoSensitiveContentDetected",
                                    "OutputAudioSensitiveContentDetected")


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
