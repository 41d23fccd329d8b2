"""ArkClient against an in-test server (httpx.MockTransport): requests, retries, error mapping, create ambiguity."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest

from orchestrator.api import (
    AmbiguousCreate,
    ApiError,
    ArkClient,
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    CreateTaskRequest,
    NotFound,
    RateLimited,
    ServerError,
    TaskStatus,
    TextContent,
    Timeout,
)
from orchestrator.api import retry as policy
from orchestrator.api.client import CREATE_WINDOW_SLACK_S, DEFAULT_BASE_URL, client_request_id
from orchestrator.errors import ConfigError
from tests.api.conftest import API_KEY, BASE_URL, NOW, Sleeps, error_body

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., ArkClient]
TASKS_URL = f"{BASE_URL}/contents/generations/tasks"
REQ = CreateTaskRequest(model="dreamina-seedance-2-0-260128", content=[TextContent(text="an apple")], seed=1234,
                        duration=5, ratio="16:9", resolution="720p")


class Server:
    """A scripted server: each call pops the next reply (a Response, or an exception to raise)."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


def created(task_id: str = "cgt-20260611150425-ggtng") -> httpx.Response:
    return httpx.Response(200, json={"id": task_id})


async def test_create_sends_auth_json_and_client_request_id(make_client: MakeClient) -> None:
    server = Server(created())
    async with make_client(server) as ark:
        assert await ark.create(REQ) == "cgt-20260611150425-ggtng"
    (request,) = server.requests
    assert request.method == "POST" and str(request.url) == TASKS_URL
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert re.fullmatch(r"\d{14}[A-Za-z0-9]{20}", request.headers["x-client-request-id"])
    assert json.loads(request.content) == REQ.body()


def test_client_request_id_shape() -> None:
    ids = {client_request_id() for _ in range(50)}
    assert len(ids) == 50 and all(re.fullmatch(r"\d{14}[A-Za-z0-9]{20}", i) for i in ids)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARK_API_KEY", "env-key")
    monkeypatch.delenv("ARK_BASE_URL", raising=False)
    ark = ArkClient()
    assert ark.base_url == DEFAULT_BASE_URL and ark._key.get_secret_value() == "env-key"
    monkeypatch.setenv("ARK_BASE_URL", "http://127.0.0.1:9/api/v3/")
    assert ArkClient().base_url == "http://127.0.0.1:9/api/v3"
    assert ArkClient(base_url="https://other/api/v3").base_url == "https://other/api/v3"


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARK_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ARK_API_KEY"):
        ArkClient()


def test_timeouts_default_and_configurable() -> None:
    assert ArkClient(api_key="k")._http.timeout == httpx.Timeout(60.0, connect=10.0)
    assert ArkClient(api_key="k", timeout=httpx.Timeout(5.0))._http.timeout == httpx.Timeout(5.0)


async def test_context_manager_closes_the_pool(make_client: MakeClient) -> None:
    async with make_client(Server(created())) as ark:
        pass
    assert ark._http.is_closed


# -- create: ambiguous vs surely-not-sent ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("exc", "cause_cls"),
    [
        (httpx.ReadTimeout("timed out"), Timeout),
        (httpx.ReadError("connection reset"), ConnectionFailed),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), ConnectionFailed),
        (httpx.WriteError("broken pipe"), ConnectionFailed),
        (httpx.WriteTimeout("timed out"), Timeout),
        (httpx.ProxyError("proxy hung up"), ConnectionFailed),
    ],
)
async def test_create_that_may_have_arrived_is_ambiguous_and_never_resent(
    make_client: MakeClient, sleeps: Sleeps, exc: Exception, cause_cls: type[ApiError]
) -> None:
    server = Server(exc, created())
    async with make_client(server) as ark:
        with pytest.raises(AmbiguousCreate) as info:
            await ark.create(REQ)
    assert len(server.requests) == 1 and sleeps.waits == []
    err = info.value
    assert (err.model, err.seed, err.request) == (REQ.model, 1234, REQ)
    assert (err.created_after, err.created_before) == (NOW - CREATE_WINDOW_SLACK_S, NOW + CREATE_WINDOW_SLACK_S)
    assert type(err.__cause__) is cause_cls and err.cause is err.__cause__
    assert err.__cause__.__cause__ is exc


async def test_ambiguity_window_runs_from_before_sending_to_after_failing(make_client: MakeClient) -> None:
    ticks = iter([1000.5, 1030.2])
    async with make_client(Server(httpx.ReadTimeout("slow")), clock=lambda: next(ticks)) as ark:
        with pytest.raises(AmbiguousCreate) as info:
            await ark.create(REQ)
    assert (info.value.created_after, info.value.created_before) == (1000 - CREATE_WINDOW_SLACK_S,
                                                                     1031 + CREATE_WINDOW_SLACK_S)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_create_answered_with_5xx_is_ambiguous(make_client: MakeClient, status: int) -> None:
    server = Server(httpx.Response(status, json=error_body("InternalServiceError", type_="InternalServerError")),
                    created())
    async with make_client(server) as ark:
        with pytest.raises(AmbiguousCreate) as info:
            await ark.create(REQ)
    assert len(server.requests) == 1
    assert isinstance(info.value.cause, ServerError) and info.value.code == "InternalServiceError"


async def test_create_5xx_stays_ambiguous_even_when_the_server_says_retry(make_client: MakeClient) -> None:
    server = Server(httpx.Response(503, headers={"x-should-retry": "true"}), created())
    async with make_client(server) as ark:
        with pytest.raises(AmbiguousCreate):
            await ark.create(REQ)
    assert len(server.requests) == 1


@pytest.mark.parametrize("reply", [httpx.Response(200, json={"error": None}), httpx.Response(200, text="<html>"),
                                   httpx.Response(200, json=["cgt-1"])])
async def test_create_ok_without_a_task_id_is_ambiguous(make_client: MakeClient, reply: httpx.Response) -> None:
    async with make_client(Server(reply)) as ark:
        with pytest.raises(AmbiguousCreate):
            await ark.create(REQ)


@pytest.mark.parametrize(
    "first",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("no connection free"),
        httpx.Response(429, json=error_body("RequestBurstTooFast", type_="TooManyRequests")),
        httpx.Response(429, json=error_body("ModelAccountRpmRateLimitExceeded", type_="TooManyRequests")),
        httpx.Response(408),
    ],
)
async def test_create_that_surely_did_not_arrive_is_retried(
    make_client: MakeClient, sleeps: Sleeps, first: httpx.Response | Exception
) -> None:
    server = Server(first, first, created("cgt-2"))
    async with make_client(server) as ark:
        assert await ark.create(REQ) == "cgt-2"
    assert len(server.requests) == 3 and len(sleeps.waits) == 2
    assert all(0 <= w <= policy.BACKOFF_CAP for w in sleeps.waits)


async def test_create_gives_up_after_max_attempts(make_client: MakeClient, sleeps: Sleeps) -> None:
    server = Server(httpx.ConnectError("connection refused"))
    async with make_client(server) as ark:
        with pytest.raises(ConnectionFailed) as info:
            await ark.create(REQ)
    assert not isinstance(info.value, AmbiguousCreate)
    assert len(server.requests) == policy.MAX_ATTEMPTS and len(sleeps.waits) == policy.MAX_ATTEMPTS - 1


@pytest.mark.parametrize(
    ("reply", "cls", "code"),
    [
        (httpx.Response(400, json=error_body("InvalidParameter", param="duration")), BadRequest, "InvalidParameter"),
        (httpx.Response(401, json=error_body("AuthenticationError", type_="Unauthorized")), AuthenticationFailed,
         "AuthenticationError"),
        (httpx.Response(404, json=error_body("InvalidEndpointOrModel.NotFound", type_="NotFound")), NotFound,
         "InvalidEndpointOrModel.NotFound"),
        (httpx.Response(429, json=error_body("SetLimitExceeded", type_="TooManyRequests")), RateLimited,
         "SetLimitExceeded"),
    ],
)
async def test_create_refusals_are_raised_once(
    make_client: MakeClient, reply: httpx.Response, cls: type[ApiError], code: str
) -> None:
    server = Server(reply, created())
    async with make_client(server) as ark:
        with pytest.raises(cls) as info:
            await ark.create(REQ)
    assert len(server.requests) == 1 and info.value.code == code and not info.value.retryable


async def test_a_full_queue_is_waited_out_within_the_create_budget(make_client: MakeClient,
                                                                     sleeps: Sleeps) -> None:
    """QuotaExceeded also means "too many queued tasks": retried here, and only here (the engine has no loop of its
    own), up to the POSTs the take has left."""
    full = httpx.Response(429, json=error_body("QuotaExceeded", type_="TooManyRequests"))
    server = Server(full, full, created("cgt-3"))
    async with make_client(server) as ark:
        assert await ark.create(REQ) == "cgt-3"
    assert len(server.requests) == 3
    server = Server(full)
    async with make_client(server) as ark:
        with pytest.raises(RateLimited) as info:
            await ark.create(REQ, max_posts=2)
    assert len(server.requests) == 2 and info.value.attempts == 2  # the caller adds these to the take's total


async def test_retry_after_is_waited(make_client: MakeClient, sleeps: Sleeps) -> None:
    limited = httpx.Response(429, headers={"retry-after": "3"}, json=error_body("RequestBurstTooFast"))
    huge = httpx.Response(429, headers={"retry-after": "86400"}, json=error_body("RequestBurstTooFast"))
    async with make_client(Server(limited, huge, created())) as ark:
        await ark.create(REQ)
    assert sleeps.waits == [3.0, policy.RETRY_AFTER_CAP]


# -- get / list / delete ----------------------------------------------------------------------------------------

async def test_get_parses_the_task(make_client: MakeClient) -> None:
    server = Server(httpx.Response(200, json={"id": "cgt-1", "status": "running", "new_field": 1}))
    async with make_client(server) as ark:
        task = await ark.get("cgt-1")
    assert task.status is TaskStatus.RUNNING and task.model_extra == {"new_field": 1}
    assert server.requests[0].method == "GET" and str(server.requests[0].url) == f"{TASKS_URL}/cgt-1"


async def test_get_retries_server_errors_and_connection_drops(make_client: MakeClient, sleeps: Sleeps) -> None:
    server = Server(httpx.Response(503), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed"),
                    httpx.Response(200, json={"id": "cgt-1", "status": "succeeded"}))
    async with make_client(server) as ark:
        assert (await ark.get("cgt-1")).succeeded
    assert len(server.requests) == 4 and len(sleeps.waits) == 3


async def test_get_honours_x_should_retry_false(make_client: MakeClient) -> None:
    server = Server(httpx.Response(503, headers={"x-should-retry": "false"}), httpx.Response(200, json={"id": "x"}))
    async with make_client(server) as ark:
        with pytest.raises(ServerError):
            await ark.get("cgt-1")
    assert len(server.requests) == 1


async def test_error_mapping_preserves_provider_fields(make_client: MakeClient) -> None:
    body = error_body("NotFound.TaskId", message="The specified task cgt-9 is not found.", param="id",
                      type_="NotFound")
    server = Server(httpx.Response(404, json=body, headers={"x-request-id": "021abc"}))
    async with make_client(server) as ark:
        with pytest.raises(NotFound) as info:
            await ark.get("cgt-9")
    err = info.value
    assert (err.status, err.code, err.param, err.type, err.request_id) == (404, "NotFound.TaskId", "id", "NotFound",
                                                                           "021abc")
    assert err.message == "The specified task cgt-9 is not found."
    assert err.method == "GET" and err.url == f"{TASKS_URL}/cgt-9"
    assert err.client_request_id == server.requests[0].headers["x-client-request-id"]
    assert "404 NotFound.TaskId" in str(err) and "request id 021abc" in str(err)


async def test_non_json_error_body_still_maps(make_client: MakeClient, sleeps: Sleeps) -> None:
    server = Server(httpx.Response(502, text="<html>Bad Gateway</html>"))
    async with make_client(server, max_attempts=2) as ark:
        with pytest.raises(ServerError) as info:
            await ark.get("cgt-1")
    assert info.value.code is None and "Bad Gateway" in info.value.message and info.value.retryable


async def test_unusable_success_body_is_an_api_error(make_client: MakeClient) -> None:
    async with make_client(Server(httpx.Response(200, json={"status": "running"}))) as ark:
        with pytest.raises(ApiError, match="unexpected response body"):
            await ark.get("cgt-1")


async def test_task_id_is_quoted_and_must_not_be_empty(make_client: MakeClient) -> None:
    server = Server(httpx.Response(200, json={"id": "x"}))
    async with make_client(server) as ark:
        await ark.get("../tasks?x=1")
        with pytest.raises(ValueError, match="empty task id"):
            await ark.get("")
    assert server.requests[0].url.raw_path == b"/api/v3/contents/generations/tasks/..%2Ftasks%3Fx%3D1"


async def test_list_encodes_repeated_task_ids(make_client: MakeClient) -> None:
    server = Server(httpx.Response(200, json={"total": 1, "items": [{"id": "a", "status": "queued"}]}))
    async with make_client(server) as ark:
        page = await ark.list(page_num=2, page_size=100, status=TaskStatus.RUNNING, task_ids=["a", "b"],
                              model="m", service_tier="flex")
    assert page.total == 1 and page.items[0].id == "a"
    url = server.requests[0].url
    assert url.path == "/api/v3/contents/generations/tasks"
    assert url.params.multi_items() == [
        ("page_num", "2"), ("page_size", "100"), ("filter.status", "running"), ("filter.task_ids", "a"),
        ("filter.task_ids", "b"), ("filter.model", "m"), ("filter.service_tier", "flex")]
    assert b"filter.task_ids=a&filter.task_ids=b" in url.query


async def test_list_leaves_out_unset_filters(make_client: MakeClient) -> None:
    server = Server(httpx.Response(200, json={"total": 0, "items": []}))
    async with make_client(server) as ark:
        await ark.list()
        await ark.list(task_ids="only")
    assert server.requests[0].url.query == b""
    assert server.requests[1].url.params.multi_items() == [("filter.task_ids", "only")]


async def test_delete(make_client: MakeClient, sleeps: Sleeps) -> None:
    server = Server(httpx.Response(500), httpx.Response(200, json={}))
    async with make_client(server) as ark:
        await ark.delete("cgt-1")
    assert [r.method for r in server.requests] == ["DELETE", "DELETE"] and len(sleeps.waits) == 1


