"""The retry policy as tables: what is retried, how long to wait, and when a failed create may have made a task."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from orchestrator.api import retry as policy
from orchestrator.api.retry import ExcKind, backoff_seconds, is_retryable, parse_retry_after

K = ExcKind
NOW = datetime(2026, 6, 11, 7, 4, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "code", "kind", "retry"),
    [
        # no response at all: always worth another try, except our own malformed request
        (None, None, K.CONNECT, True),
        (None, None, K.CONNECT_TIMEOUT, True),
        (None, None, K.POOL_TIMEOUT, True),
        (None, None, K.READ, True),
        (None, None, K.READ_TIMEOUT, True),
        (None, None, K.WRITE, True),
        (None, None, K.WRITE_TIMEOUT, True),
        (None, None, K.PROTOCOL, True),
        (None, None, K.OTHER, True),
        (None, None, K.LOCAL, False),
        # statuses
        (408, None, None, True),
        (409, None, None, True),
        (429, None, None, True),
        (500, "InternalServiceError", None, True),
        (502, None, None, True),
        (503, None, None, True),
        (504, None, None, True),
        (400, "InvalidParameter", None, False),
        (400, "MissingParameter", None, False),
        (400, "OutputVideoSensitiveContentDetected", None, False),
        (401, "AuthenticationError", None, False),
        (403, "AccountOverdueError", None, False),
        (404, "InvalidEndpointOrModel.NotFound", None, False),
        (413, None, None, False),
        (422, None, None, False),
        # 429 codes: slow down (retry) vs quota used up (do not)
        (429, "ModelAccountRpmRateLimitExceeded", None, True),
        (429, "RateLimitExceeded.EndpointRPMExceeded", None, True),
        (429, "RateLimitExceeded.EndpointTPMExceeded", None, True),
        (429, "APIAccountRpmRateLimitExceeded", None, True),
        (429, "AccountRateLimitExceeded", None, True),
        (429, "ModelAccountTpmRateLimitExceeded", None, True),
        (429, "ServerOverloaded", None, True),
        (429, "RequestBurstTooFast", None, True),
        (429, "InflightBatchsizeExceeded", None, True),
        (429, "QuotaExceeded", None, True),  # also "too many queued tasks": drains; bounded by CREATE_POSTS
        (429, "SetLimitExceeded", None, False),
        # a retryable code wins over a status that is not
        (400, "InternalServiceError", None, True),
    ],
)
def test_retry_table(status: int | None, code: str | None, kind: ExcKind | None, retry: bool) -> None:
    assert is_retryable(status, code, kind) is retry


@pytest.mark.parametrize(
    ("status", "code", "header", "retry"),
    [
        (400, "InvalidParameter", "true", True),
        (429, "QuotaExceeded", "true", True),
        (503, None, "false", False),
        (429, "RequestBurstTooFast", "false", False),
        (503, None, "maybe", True),  # neither true nor false: the table decides
    ],
)
def test_x_should_retry_overrides_the_table(status: int, code: str | None, header: str, retry: bool) -> None:
    verdict = policy.parse_should_retry(header)
    assert is_retryable(status, code, None, should_retry=verdict) is retry


@pytest.mark.parametrize(("value", "verdict"), [("true", True), (" TRUE ", True), ("false", False),
                                                ("1", None), ("", None), (None, None)])
def test_parse_should_retry(value: str | None, verdict: bool | None) -> None:
    assert policy.parse_should_retry(value) is verdict


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), K.CONNECT),
        (httpx.ConnectTimeout("slow"), K.CONNECT_TIMEOUT),
        (httpx.PoolTimeout("pool"), K.POOL_TIMEOUT),
        (httpx.WriteTimeout("w"), K.WRITE_TIMEOUT),
        (httpx.WriteError("w"), K.WRITE),
        (httpx.ReadTimeout("r"), K.READ_TIMEOUT),
        (httpx.ReadError("reset"), K.READ),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), K.PROTOCOL),
        (httpx.LocalProtocolError("bad header"), K.LOCAL),
        (httpx.UnsupportedProtocol("ftp"), K.LOCAL),
        (httpx.ProxyError("proxy"), K.OTHER),
    ],
)
def test_classify(exc: httpx.TransportError, kind: ExcKind) -> None:
    assert policy.classify(exc) is kind


@pytest.mark.parametrize(
    ("status", "kind", "reached"),
    [
        (None, K.CONNECT, False),
        (None, K.CONNECT_TIMEOUT, False),
        (None, K.POOL_TIMEOUT, False),
        (None, K.LOCAL, False),
        (None, K.READ_TIMEOUT, True),
        (None, K.READ, True),
        (None, K.PROTOCOL, True),
        (None, K.WRITE, True),  # part of the body may have arrived: assume the worst
        (None, K.WRITE_TIMEOUT, True),
        (None, K.OTHER, True),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (400, None, False),
        (408, None, False),
        (409, None, False),
        (429, None, False),
    ],
)
def test_create_reached_server(status: int | None, kind: ExcKind | None, reached: bool) -> None:
    assert policy.create_reached_server(status, kind) is reached


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("7", 7.0),
        ("1.5", 1.5),
        ("  12 ", 12.0),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("Thu, 11 Jun 2026 07:05:25 GMT", 60.0),
        ("Thu, 11 Jun 2026 07:05:25 -0000", 60.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Thu, 99 Foo 2026", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_parse_retry_after_accepts_a_naive_now() -> None:
    assert parse_retry_after("Thu, 11 Jun 2026 07:05:25 GMT", NOW.replace(tzinfo=None)) == 60.0


@pytest.mark.parametrize(("retry_after", "wait"), [(0.0, 0.0), (5.0, 5.0), (60.0, 60.0), (3600.0, 60.0)])
def test_retry_after_is_honoured_up_to_the_cap(retry_after: float, wait: float) -> None:
    assert policy.RETRY_AFTER_CAP == 60.0
    assert backoff_seconds(3, retry_after, random.Random(1)) == wait


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 4, 10, 1000])
def test_full_jitter_stays_within_zero_and_the_ceiling(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(policy.BACKOFF_CAP, policy.BACKOFF_BASE * 2**min(attempt, 32))
    waits = [backoff_seconds(attempt, None, rng) for _ in range(500)]
    assert all(0.0 <= w <= ceiling for w in waits)
    assert max(waits) > ceiling * 0.9  # full jitter: the whole range is used, not just its top
    assert min(waits) < ceiling * 0.1


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    first = [backoff_seconds(a, None, random.Random(42)) for a in range(5)]
    assert first == [backoff_seconds(a, None, random.Random(42)) for a in range(5)]


@pytest.mark.parametrize(
    ("code", "again"),
    [("InternalServiceError", True), ("OutputVideoSensitiveContentDetected", True),
     ("OutputVideoSensitiveContentDetected.PolicyViolation", True), ("OutputAudioSensitiveContentDetected", True),
     ("InputImageSensitiveContentDetected.PrivacyInformation", False), ("InvalidParameter.TaskTypeConstraint", False),
     (None, False)],
)
def test_is_resubmittable(code: str | None, again: bool) -> None:
    assert policy.is_resubmittable(code) is again


# -- the engine's side of the policy: totals, windows, what a 404 means ----------------------------------------------

HOUR = 3600.0


@pytest.mark.parametrize(("posts", "left"), [(0, policy.CREATE_POSTS), (5, policy.CREATE_POSTS - 5),
                                             (policy.CREATE_POSTS, 0), (policy.CREATE_POSTS + 3, 0)])
def test_create_posts_left(posts: int, left: int) -> None:
    assert policy.create_posts_left(posts) == left


def test_the_create_budget_fits_eight_unanswered_creates_and_the_one_that_works() -> None:
    assert policy.CREATE_POSTS >= 9
    assert policy.MAX_ATTEMPTS <= policy.CREATE_POSTS


@pytest.mark.parametrize(
    ("code", "expired", "attempts", "again"),
    [
        ("OutputVideoSensitiveContentDetected", False, 1, True),
        ("OutputVideoSensitiveContentDetected", False, 3, False),  # max_attempts reached
        ("InternalServiceError", False, 2, True),
        ("InputTextSensitiveContentDetected", False, 1, False),
        ("expired", True, 1, True),
        (policy.GONE_CODE, True, 1, True),
        (policy.AMBIGUOUS_CODE, False, 1, False),  # never paid twice on a guess
        (policy.UNKNOWN_CODE, False, 1, False),
        (policy.BUDGET_CODE, False, 1, False),
        (None, False, 1, False),
    ],
)
def test_may_resubmit(code: str | None, expired: bool, attempts: int, again: bool) -> None:
    assert policy.may_resubmit(code, expired, attempts, max_attempts=3) is again


@pytest.mark.parametrize(("code", "reseed"), [("OutputVideoSensitiveContentDetected", True),
                                              ("OutputAudioSensitiveContentDetected.PolicyViolation", True),
                                              ("InternalServiceError", False), (None, False)])
def test_a_new_take_after_output_moderation_gets_a_new_seed(code: str | None, reseed: bool) -> None:
    assert policy.reseed(code) is reseed


M = policy.Missing
T = 1_780_000_000.0


@pytest.mark.parametrize(
    ("created", "first", "now", "scale", "verdict"),
    [
        (T, T + 1, T + 1, 1.0, M.WAIT),  # read-after-write: the first GET after the create
        (T, T + 1, T + 1 + policy.MISSING_GRACE_S - 1, 1.0, M.WAIT),
        (T, T + 1, T + 1 + policy.MISSING_GRACE_S, 1.0, M.ASK_LIST),
        (T, T + 1, T + 1 + policy.MISSING_GRACE_S * 0.01, 0.01, M.ASK_LIST),  # scaled like every wait
        (T, T + 1, T + 2, 0.01, M.WAIT),
        (T, T + 5 * 86_400, T + 5 * 86_400, 1.0, M.WAIT),  # resumed days later, still within retention
        (T, T + policy.RETENTION_S, T + policy.RETENTION_S, 1.0, M.GONE),
        (T, T + 2, T + policy.RETENTION_S + 1, 0.01, M.GONE),
    ],
)
def test_what_a_404_on_a_task_we_created_means(created: float, first: float, now: float, scale: float,
                                                verdict: policy.Missing) -> None:
    assert policy.missing_verdict(created, first, now, scale) is verdict


@pytest.mark.parametrize(("misses", "wait"), [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (50, 30.0),
                                              (10**6, 30.0)])
def test_missing_waits_double_up_to_the_cap(misses: int, wait: float) -> None:
    assert policy.missing_wait(misses, 1.0) == wait
    assert policy.missing_wait(misses, 0.5) == wait * 0.5


@pytest.mark.parametrize(
    ("looked", "scale", "done"),
    [(T, 1.0, False), (T + policy.RECONCILE_WINDOW_S - 1, 1.0, False), (T + policy.RECONCILE_WINDOW_S, 1.0, True),
     (T + policy.RECONCILE_WINDOW_S * 0.002 + 1e-3, 0.002, True), (T + 0.05, 0.002, False), (T + 86_400, 1.0, True)],
)
def test_no_task_is_believed_only_from_a_look_after_the_list_lag_window(looked: float, scale: float,
                                                                        done: bool) -> None:
    assert policy.reconcile_done(T, looked, scale) is done


@pytest.mark.parametrize(("finished", "now", "fresh"), [
    (T, T, True), (T, T + 19 * HOUR, True), (T, T + policy.URL_FRESH_S, False), (T, T + 30 * HOUR, False),
    (None, T, False),  # unknown completion time: the stored bytes go inline
])
def test_url_freshness_counts_from_the_providers_completion(finished: float | None, now: float,
                                                            fresh: bool) -> None:
    assert policy.url_fresh(finished, now) is fresh
    assert policy.URL_FRESH_S < policy.URL_TTL_S
