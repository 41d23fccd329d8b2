"""The provider client's branch of the error tree, hung under `orchestrator.errors.OrchestratorError`::

    OrchestratorError
    └── ApiError                    exit 1   the provider, or the way to it, failed; any other HTTP status (408, 413...)
        ├── BadRequest                       400  InvalidParameter, MissingParameter, *SensitiveContentDetected, ...
        ├── AuthenticationFailed             401  AuthenticationError, InvalidAccountStatus
        ├── PermissionDenied                 403  AccessDenied, AccountOverdueError, OperationDenied.*
        ├── NotFound                         404  InvalidEndpointOrModel.*, NotFound.*, unknown task id
        ├── Conflict                         409
        ├── RateLimited                      429  rate/burst codes (retried), QuotaExceeded, SetLimitExceeded (not)
        ├── ServerError                      5xx  InternalServiceError, gateway errors
        ├── ConnectionFailed                      no response: refused, reset, DNS, dropped connection
        │   └── Timeout                           no response in time
        ├── TaskFailed                            a task ended failed, expired, cancelled or in an unknown state
        ├── AmbiguousCreate                       a create may or may not have made a task: reconcile, never resend
        └── DownloadFailed                        a result file could not be fetched intact

Every error carries what a person needs to act on it (status, provider code, param, request ids, method and URL) and
never the API key or the Authorization header: the client builds errors from plain strings, never from httpx
requests, and strips query strings from download URLs (they carry presigned signatures).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from orchestrator.api import retry as policy
from orchestrator.api.retry import ExcKind
from orchestrator.errors import OrchestratorError

if TYPE_CHECKING:
    from orchestrator.api.types import CreateTaskRequest

ERROR_TEXT_LIMIT = 300  # of a body that is not the provider's JSON (an HTML page from a gateway, say)
Scrub = Callable[[str], str]


def strip_query(url: str) -> str:
    """The URL without query string or fragment (presigned URLs carry their signature there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class ApiError(OrchestratorError):
    """A call to the provider failed; `retryable` says whether the retry policy allows another attempt."""

    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.type = type
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.method = method
        self.url = url
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait, already parsed
        self.attempts = 1  # requests the failed call made (set by the client's retry loop)
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: status, code, message, param, then where and which request."""
        head = " ".join(str(p) for p in (self.status, self.code) if p)
        text = f"{head}: {self.message}" if head else self.message
        if self.param:
            text += f" (param {self.param})"
        if self.method and self.url:
            text += f" [{self.method} {self.url}]"
        if self.request_id:
            text += f" request id {self.request_id}"
        return text


class BadRequest(ApiError):
    """400: the request is invalid or its content was refused by moderation."""


class AuthenticationFailed(ApiError):
    """401: the API key is missing, wrong, or the account is not usable."""


class PermissionDenied(ApiError):
    """403: no access, arrears, or the service is not activated."""


class NotFound(ApiError):
    """404: unknown model/endpoint, or a task id that does not (or no longer) exist."""


class Conflict(ApiError):
    """409: the request conflicts with the current state."""


class RateLimited(ApiError):
    """429: too many requests, or a quota is used up (see `code`)."""


class ServerError(ApiError):
    """5xx: the provider failed."""


class ConnectionFailed(ApiError):
    """No response arrived: the connection could not be made or was lost; `kind` says at which step."""

    kind: ExcKind | None = None


class Timeout(ConnectionFailed):
    """No response arrived in time."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_class(status: int) -> type[ApiError]:
    """The error class for an HTTP status (ApiError itself for statuses without a class of their own)."""
    return ServerError if status >= 500 else _BY_STATUS.get(status, ApiError)


class TaskFailed(ApiError):
    """A task reached a terminal state other than succeeded; `code`/`message` come from the task's `error`."""

    def __init__(
        self, task_id: str, code: str | None, message: str | None, *, task_status: str = "failed",
        retryable: bool = False,
    ) -> None:
        self.task_id = task_id
        self.task_status = task_status
        super().__init__(
            f"task {task_id} {task_status}: {message or 'no message'}", code=code, retryable=retryable
        )


class AmbiguousCreate(ApiError):
    """A create may have reached the server, so a task may exist: reconcile through the list endpoint, never resend.

    `created_after`/`created_before` (unix seconds) bound the `created_at` such a task would have.
    """

    def __init__(
        self, request: CreateTaskRequest, *, created_after: int, created_before: int, cause: BaseException
    ) -> None:
        self.request = request
        self.created_after = created_after
        self.created_before = created_before
        self.cause = cause
        reason = f"{type(cause).__name__}: {cause}"
        super().__init__(
            f"create of a {request.model} task (seed {request.seed}) may have reached the server ({reason}); "
            f"reconcile tasks created in [{created_after}, {created_before}]",
            status=getattr(cause, "status", None),
            code=getattr(cause, "code", None),
        )

    @property
    def model(self) -> str:
        """The model the ambiguous request asked for."""
        return self.request.model

    @property
    def seed(self) -> int | None:
        """The seed the ambiguous request sent (the key to recognising its task)."""
        return self.request.seed


class DownloadFailed(ApiError):
    """A result file could not be fetched intact; no partial file was left behind."""

    def __init__(self, url: str, reason: str, *, expected: int | None = None, got: int | None = None,
                 status: int | None = None, code: str | None = None, retryable: bool = False) -> None:
        self.expected = expected
        self.got = got
        sizes = f" (expected {expected} bytes, got {got})" if expected is not None else ""
        super().__init__(f"download failed: {reason}{sizes}", status=status, code=code, method="GET",
                         url=strip_query(url), retryable=retryable)


def from_response(
    response: httpx.Response, *, method: str, url: str, client_request_id: str | None, now: datetime, scrub: Scrub
) -> ApiError:
    """The error for a 4xx/5xx response: provider fields from `{"error": {...}}`, retry verdict from the policy."""
    status = response.status_code
    detail = _error_detail(response)
    code = _str_or_none(detail.get("code"))
    message = _str_or_none(detail.get("message")) or response.text[:ERROR_TEXT_LIMIT] or response.reason_phrase
    should_retry = policy.parse_should_retry(response.headers.get("x-should-retry"))
    return error_class(status)(
        scrub(message), status=status, code=code,
        param=_str_or_none(detail.get("param")), type=_str_or_none(detail.get("type")),
        request_id=response.headers.get("x-request-id"), client_request_id=client_request_id,
        method=method, url=url,
        retryable=policy.is_retryable(status, code, None, should_retry=should_retry),
        retry_after=policy.parse_retry_after(response.headers.get("retry-after"), now),
    )


def from_transport(
    exc: httpx.TransportError, *, method: str, url: str, client_request_id: str | None, scrub: Scrub
) -> ConnectionFailed:
    """The error for a request that got no response; `kind` records at which step it was lost."""
    kind = policy.classify(exc)
    cls = Timeout if kind in policy.TIMEOUTS else ConnectionFailed
    error = cls(scrub(f"{type(exc).__name__}: {exc}"), method=method, url=url,
                client_request_id=client_request_id, retryable=policy.is_retryable(None, None, kind))
    error.kind = kind
    return error


def _error_detail(response: httpx.Response) -> dict[str, Any]:
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return detail if isinstance(detail, dict) else {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
