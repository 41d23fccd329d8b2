"""The API key never shows up: not in repr, errors, their causes, tracebacks, or any log record."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from orchestrator.api import ArkClient, CreateTaskRequest, TextContent
from tests.api.conftest import API_KEY, error_body

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., ArkClient]
REQ = CreateTaskRequest(model="m", content=[TextContent(text="x")], seed=1)


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def replying(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: response


def texts_of(exc: BaseException) -> list[str]:
    """Every way an error may be printed: str, repr, attributes, the whole cause chain and the traceback."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), repr(vars(seen)), str(getattr(seen, "request", ""))]
        request = getattr(seen, "_request", None)
        if isinstance(request, httpx.Request):
            texts.append(repr(request.headers))
        seen = seen.__cause__ or seen.__context__
    return texts


SCENARIOS = [
    ("get", raising(httpx.ConnectError("connection refused"))),
    ("get", raising(httpx.ReadTimeout("timed out"))),
    ("create", raising(httpx.ReadTimeout("timed out"))),
    ("create", raising(httpx.RemoteProtocolError("Server disconnected without sending a response."))),
    ("create", replying(httpx.Response(500, json=error_body("InternalServiceError")))),
    # a broken proxy that echoes the request's Authorization header back in its error message
    ("get", replying(httpx.Response(401, json=error_body("AuthenticationError", f"bad header: Bearer {API_KEY}")))),
    ("create", replying(httpx.Response(400, text=f"Authorization: Bearer {API_KEY} rejected"))),
    ("list", replying(httpx.Response(200, text="not json"))),
    ("download", replying(httpx.Response(403, text="expired"))),
    ("download", raising(httpx.ReadError("reset"))),
]


def test_repr_and_str_of_the_client_hide_the_key() -> None:
    ark = ArkClient(api_key=API_KEY)
    assert API_KEY not in repr(ark) and API_KEY not in str(ark) and "**********" in repr(ark)


@pytest.mark.parametrize(("call", "handler"), SCENARIOS)
async def test_errors_and_logs_never_carry_the_key(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, tmp_path: Path, call: str,
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    async with make_client(handler, max_attempts=2) as ark:
        with pytest.raises(Exception) as info:
            if call == "create":
                await ark.create(REQ)
            elif call == "get":
                await ark.get("cgt-1")
            elif call == "list":
                await ark.list(model="m")
            else:
                await ark.download("https://tos.example/v.mp4?sig=1", tmp_path / "v.mp4")
    for text in texts_of(info.value):
        assert API_KEY not in text
    assert caplog.records  # the retry/ambiguity paths do log; make sure we looked at something
    for record in caplog.records:
        assert API_KEY not in record.getMessage() and API_KEY not in str(record.args)
    assert API_KEY not in caplog.text
