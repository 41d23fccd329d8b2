"""The API branch of the error tree: shape, exit codes, messages."""

from __future__ import annotations

import pytest

from orchestrator.api import CreateTaskRequest, TextContent
from orchestrator.api import errors as e
from orchestrator.errors import OrchestratorError


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, e.BadRequest), (401, e.AuthenticationFailed), (403, e.PermissionDenied), (404, e.NotFound),
     (409, e.Conflict), (429, e.RateLimited), (500, e.ServerError), (502, e.ServerError), (599, e.ServerError),
     (408, e.ApiError), (413, e.ApiError), (422, e.ApiError)],
)
def test_error_class_by_status(status: int, cls: type[e.ApiError]) -> None:
    assert e.error_class(status) is cls


def test_every_api_error_is_an_orchestrator_error_with_exit_code_1() -> None:
    classes = [e.ApiError, e.BadRequest, e.AuthenticationFailed, e.PermissionDenied, e.NotFound, e.Conflict,
               e.RateLimited, e.ServerError, e.ConnectionFailed, e.Timeout, e.TaskFailed, e.AmbiguousCreate,
               e.DownloadFailed]
    for cls in classes:
        assert issubclass(cls, OrchestratorError) and cls.exit_code == 1
    assert issubclass(e.Timeout, e.ConnectionFailed)


def test_tree_is_drawn_in_the_docstring() -> None:
    doc = e.__doc__ or ""
    for name in ("ApiError", "BadRequest", "AuthenticationFailed", "PermissionDenied", "NotFound", "Conflict",
                 "RateLimited", "ServerError", "ConnectionFailed", "Timeout", "TaskFailed", "AmbiguousCreate",
                 "DownloadFailed"):
        assert name in doc


def test_describe_names_status_code_param_request() -> None:
    err = e.BadRequest("The parameter `content` is not valid", status=400, code="InvalidParameter",
                       param="content[1].image_url", type="BadRequest", request_id="021abc",
                       method="POST", url="https://ark/api/v3/contents/generations/tasks")
    assert str(err) == ("400 InvalidParameter: The parameter `content` is not valid (param content[1].image_url) "
                        "[POST https://ark/api/v3/contents/generations/tasks] request id 021abc")


def test_task_failed() -> None:
    err = e.TaskFailed("cgt-1", "OutputVideoSensitiveContentDetected", "may be copyrighted", task_status="failed")
    assert err.task_id == "cgt-1" and err.code == "OutputVideoSensitiveContentDetected"
    assert "cgt-1 failed: may be copyrighted" in str(err)


def test_ambiguous_create_carries_what_reconcile_needs() -> None:
    req = CreateTaskRequest(model="m", content=[TextContent(text="x")], seed=42)
    cause = e.ServerError("bad gateway", status=502)
    err = e.AmbiguousCreate(req, created_after=100, created_before=400, cause=cause)
    assert (err.model, err.seed, err.created_after, err.created_before) == ("m", 42, 100, 400)
    assert err.cause is cause and err.status == 502 and not err.retryable
    assert "reconcile tasks created in [100, 400]" in str(err)


def test_download_failed_drops_the_query_string() -> None:
    err = e.DownloadFailed("https://tos.example/v.mp4?X-Tos-Signature=abc&X-Tos-Expires=86400#f", "truncated",
                           expected=100, got=50)
    assert err.url == "https://tos.example/v.mp4"
    assert "Signature" not in str(err) and "expected 100 bytes, got 50" in str(err)
