"""The typed async client of the Seedance task API: create, get, list, delete, download (seedance-api.md §§1-6).

One `httpx.AsyncClient` carries every call, so connections are pooled and kept alive. Reads are retried by the policy
in `orchestrator.api.retry`; a create is retried only when it surely did not reach the server, and otherwise raises
`AmbiguousCreate` for the caller to reconcile (DESIGN.md §5: never create a remote task twice).

The API key lives in a `SecretStr`, goes only into the Authorization header of requests to the API base URL (never to
download hosts), and is scrubbed from any text the server sends back before that text enters an error or a log.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from orchestrator.api import retry as policy
from orchestrator.api.errors import (
    AmbiguousCreate,
    ApiError,
    BadRequest,
    ConnectionFailed,
    DownloadFailed,
    NotFound,
    from_response,
    from_transport,
    strip_query,
)
from orchestrator.api.files import check_length, fsync_dir, write_body
from orchestrator.api.pacer import Pacer, list_pacer
from orchestrator.api.types import CreateTaskRequest, Task, TaskPage, TaskStatus
from orchestrator.errors import ConfigError

DEFAULT_BASE_URL = "https://ark.ap-southeast.bytepluses.com/api/v3"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
TASKS_PATH = "contents/generations/tasks"
LIST_IDS_MAX = 100  # ids one list call asks for (page_size goes to 500; 100 keeps an answer's parse small)
# Our clock and the server's disagree a little, and a slow gateway may create the task after we gave up waiting.
CREATE_WINDOW_SLACK_S = 120
_ALNUM = string.ascii_letters + string.digits

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")
Query = list[tuple[str, str | int | float | bool | None]]  # named here: inside ArkClient, `list` is the method

log = logging.getLogger("orchestrator.api")


def client_request_id(now: datetime | None = None) -> str:
    """An `X-Client-Request-Id` as the SDKs make it: YYYYmmddHHMMSS plus 20 random letters and digits."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return stamp + "".join(secrets.choice(_ALNUM) for _ in range(20))


class ArkClient:
    """Async client of the provider's task API; use as `async with ArkClient() as ark:`."""

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = policy.MAX_ATTEMPTS,
        sleep: Sleep = asyncio.sleep,
        rng: policy.Rng | None = None,
        clock: Clock = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("ARK_API_KEY", "")
        plain = (key.get_secret_value() if isinstance(key, SecretStr) else key).strip()
        if not plain:
            raise ConfigError("no API key: set ARK_API_KEY (or use the simulator backend)")
        if not (plain.isascii() and plain.isprintable()):
            # Checked here because httpx would otherwise echo the malformed header, key included, in its error.
            raise ConfigError("the API key has characters a header cannot carry (check ARK_API_KEY for stray text)")
        self._key = SecretStr(plain)
        self.base_url = (base_url or os.environ.get("ARK_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_attempts = max_attempts
        self.sleep = sleep
        self._rng: policy.Rng = rng or random.Random()
        self._clock = clock
        self.pacer = pacer or list_pacer(self.base_url)
        # Told of every 429 the client rides out by itself, so a scheduler can lower its in-flight limit.
        self.on_rate_limited: Callable[[ApiError], None] | None = None
        # No auth in the client's default headers: download hosts (presigned TOS URLs) must never see the key.
        self._http = httpx.AsyncClient(base_url=self.base_url + "/", timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"ArkClient(base_url={self.base_url!r}, api_key={self._key!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def create(self, req: CreateTaskRequest, *, max_posts: int | None = None) -> str:
        """Submit a generation task and return its id; raises AmbiguousCreate when a task may exist anyway."""
        task_id, _ = await self.create_counted(req, max_posts=max_posts)
        return task_id

    async def create_counted(self, req: CreateTaskRequest, *, max_posts: int | None = None) -> tuple[str, int]:
        """`create`, also saying how many POST requests it made: at most `max_posts` (default `max_attempts`). A
        raised error's `attempts` says the same, so a caller can keep a total across calls (`retry.CREATE_POSTS`)."""
        body = req.body()
        limit = min(self.max_attempts, max_posts) if max_posts is not None else self.max_attempts
        return await self._counted(self._retrying(max(limit, 1)), lambda: self._create_once(req, body))

    async def get(self, task_id: str) -> Task:
        """One task by id (a 404 is raised as NotFound at once: what it means is the caller's to decide)."""
        return _parse(Task, await self._call("GET", _task_path(task_id)))

    async def delete(self, task_id: str) -> None:
        """Cancel a queued task, or delete the record of a finished one.

        When an earlier attempt's answer was lost, a retry finds the work already done (404 after a delete, a
        refusal naming the task cancelled after a cancel); both count as success, so deleting is idempotent.
        """
        attempts = 0

        async def once() -> None:
            nonlocal attempts
            attempts += 1
            try:
                await self._send("DELETE", _task_path(task_id))
            except (NotFound, BadRequest) as exc:
                if attempts == 1 or not (isinstance(exc, NotFound) or "cancelled" in (exc.message or "")):
                    raise

        await self._counted(self._retrying(), once)

    async def list(
        self,
        *,
        page_num: int | None = None,
        page_size: int | None = None,
        status: TaskStatus | str | None = None,
        task_ids: Sequence[str] | str | None = None,
        model: str | None = None,
        service_tier: str | None = None,
    ) -> TaskPage:
        """One page of tasks of the last 7 days, filtered; every request waits for its slot of the process-wide
        list pacer (the provider allows 1 list call per second per account)."""
        params = list_params(page_num=page_num, page_size=page_size, status=status, task_ids=task_ids,
                             model=model, service_tier=service_tier)
        return _parse(TaskPage, await self._call("GET", TASKS_PATH, params=params, paced=True))

    async def list_now(self, task_ids: Sequence[str], service_tier: str | None = None) -> TaskPage | None:
        """The tasks with these ids (at most a page of LIST_IDS_MAX) in one list call, if the account's list pace
        allows one now; None when it does not (the caller asks another way rather than wait)."""
        if len(task_ids) > LIST_IDS_MAX:
            raise ValueError(f"at most {LIST_IDS_MAX} ids in one list call, {len(task_ids)} given")
        if self.pacer.claim() > 0:
            return None
        params = list_params(page_size=len(task_ids), task_ids=task_ids, service_tier=service_tier)
        return _parse(TaskPage, await self._call("GET", TASKS_PATH, params=params, paced=True, claimed=True))

    async def download(self, url: str, dest: Path) -> int:
        """Fetch a result URL to `dest` atomically and return its size; raises DownloadFailed, leaving no file."""
        try:
            size, _ = await self._counted(self._retrying(), lambda: self._download_once(url, dest))
            return size
        except DownloadFailed:
            raise
        except ApiError as exc:
            raise DownloadFailed(url, f"{type(exc).__name__}: {exc.message}", status=exc.status, code=exc.code,
                                 retryable=exc.retryable) from exc
        except OSError as exc:  # the disk, not the network: retrying would not help
            raise DownloadFailed(url, f"cannot write {dest}: {exc}") from exc

    # -- one attempt each ------------------------------------------------------------------------------------------

    async def _create_once(self, req: CreateTaskRequest, body: dict[str, Any]) -> str:
        started = self._clock()
        response = await self._send_create(req, body, started)
        try:
            payload = response.json()
        except ValueError as exc:  # 2xx with a body that is not JSON: the server took the request
            raise self._ambiguous(req, started, exc) from exc
        task_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(task_id, str) or not task_id:
            error = ApiError("create succeeded without a task id", status=response.status_code, method="POST",
                             url=str(response.request.url))
            raise self._ambiguous(req, started, error) from error
        return task_id

    async def _send_create(self, req: CreateTaskRequest, body: dict[str, Any], started: float) -> httpx.Response:
        try:
            return await self._send("POST", TASKS_PATH, json=body)
        except ApiError as exc:
            kind = exc.kind if isinstance(exc, ConnectionFailed) else None
            if policy.create_reached_server(exc.status, kind):
                raise self._ambiguous(req, started, exc) from exc
            raise

    def _ambiguous(self, req: CreateTaskRequest, started: float, cause: BaseException) -> AmbiguousCreate:
        before = math.ceil(self._clock()) + CREATE_WINDOW_SLACK_S
        error = AmbiguousCreate(req, created_after=math.floor(started) - CREATE_WINDOW_SLACK_S,
                                created_before=before, cause=cause)
        log.warning("%s", error)
        return error

    async def _call(self, method: str, path: str, *, params: Query | None = None,
                    paced: bool = False, claimed: bool = False) -> httpx.Response:
        turn = [claimed]  # the caller already took the pace's turn for the first attempt

        async def once() -> httpx.Response:
            if turn[0]:
                turn[0] = False
            else:
                while paced and (wait := self.pacer.claim()) > 0:
                    await self.sleep(wait)
            return await self._send(method, path, params=params)

        response, _ = await self._counted(self._retrying(), once)
        return response

    async def _send(self, method: str, path: str, *, json: dict[str, Any] | None = None,
                    params: Query | None = None) -> httpx.Response:
        request_id = client_request_id()
        headers = {
            "Authorization": f"Bearer {self._key.get_secret_value()}",
            "Content-Type": "application/json",
            "X-Client-Request-Id": request_id,
        }
        url = f"{self.base_url}/{path}"
        try:
            response = await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise from_transport(exc, method=method, url=url, client_request_id=request_id, scrub=self._scrub) from exc
        log.debug("%s %s -> %s (client request id %s)", method, response.request.url, response.status_code,
                  request_id)
        if response.status_code >= 400:
            raise self._status_error(response, method, str(response.request.url), request_id)
        return response

    async def _download_once(self, url: str, dest: Path) -> int:
        clean = strip_query(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            # identity: we want the file's exact bytes, and Content-Length then counts what we write
            async with self._http.stream("GET", url, headers={"Accept-Encoding": "identity"},
                                         follow_redirects=True) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._status_error(response, "GET", clean, None)
                size = await write_body(response, part)
                check_length(response, size, clean)
            part.replace(dest)
            fsync_dir(dest.parent)
            return size
        except httpx.TransportError as exc:
            raise from_transport(exc, method="GET", url=clean, client_request_id=None, scrub=self._scrub) from exc
        finally:
            part.unlink(missing_ok=True)

    # -- retry engine and error building -----------------------------------------------------------------------

    @staticmethod
    async def _counted(retrying: AsyncRetrying, once: Callable[[], Awaitable[_T]]) -> tuple[_T, int]:
        """Run `once` under `retrying`: its value and how many requests it took; an error that ends it carries the
        count as `attempts`."""
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    return await once(), attempts
        except ApiError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    def _retrying(self, attempts: int | None = None) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(attempts or self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, ApiError) and e.retryable),
            sleep=self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiError) and exc.status == 429 and self.on_rate_limited is not None:
            self.on_rate_limited(exc)
        retry_after = exc.retry_after if isinstance(exc, ApiError) else None
        return policy.backoff_seconds(state.attempt_number - 1, retry_after, self._rng)

    def _status_error(self, response: httpx.Response, method: str, url: str, request_id: str | None) -> ApiError:
        now = datetime.fromtimestamp(self._clock(), UTC)
        return from_response(response, method=method, url=url, client_request_id=request_id, now=now,
                             scrub=self._scrub)

    def _scrub(self, text: str) -> str:
        """The text with the API key blanked out, in case a server or proxy echoes the header back."""
        return text.replace(self._key.get_secret_value(), "**********")


def list_params(
    *,
    page_num: int | None = None,
    page_size: int | None = None,
    status: TaskStatus | str | None = None,
    task_ids: Sequence[str] | str | None = None,
    model: str | None = None,
    service_tier: str | None = None,
) -> Query:
    """Query pairs of the list endpoint; `filter.task_ids` repeats once per id, unset filters are left out."""
    ids = [task_ids] if isinstance(task_ids, str) else list(task_ids or ())
    pairs = [("page_num", page_num), ("page_size", page_size), ("filter.status", status),
             *(("filter.task_ids", i) for i in ids), ("filter.model", model), ("filter.service_tier", service_tier)]
    return [(name, str(value)) for name, value in pairs if value is not None]


def _task_path(task_id: str) -> str:
    if not task_id:
        raise ValueError("empty task id")  # would silently turn into the list endpoint
    return f"{TASKS_PATH}/{quote(task_id, safe='')}"


def _parse(model: type[_M], response: httpx.Response) -> _M:
    try:
        return model.model_validate(response.json())
    except ValueError as exc:  # bad JSON or a shape we cannot use (pydantic's ValidationError is a ValueError)
        raise ApiError(f"unexpected response body: {exc}", status=response.status_code,
                       method=response.request.method, url=str(response.request.url)) from exc


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("retrying after %s (attempt %d, waiting %.1f s)", exc, state.attempt_number, wait)
