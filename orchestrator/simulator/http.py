"""The thin HTTP layer: the provider's four endpoints under /api/v3, signed file downloads, and /_sim control.

Everything it decides is in `Backend` and `validation`; this module only translates HTTP to calls and back,
and plays the injected faults and the weather (bursts, lost create answers), which are about the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from orchestrator.simulator import catalog as c
from orchestrator.simulator.backend import Backend
from orchestrator.simulator.errors import ProviderError, internal, invalid, request_id, unauthenticated
from orchestrator.simulator.faults import CallFault, TaskFault
from orchestrator.simulator.records import MediaBytes
from orchestrator.simulator.validation import CreateSpec, ImageInput, check_image, decode_data_url, validate_create

log = logging.getLogger("orchestrator.simulator")
API = "/api/v3/contents/generations/tasks"
_STATUSES = {"queued", "running", "cancelled", "succeeded", "failed", "expired"}
_TICK_SECONDS = 0.05
Handler = Callable[[Request], Awaitable[Response]]


def build_app(backend: Backend) -> Starlette:
    """The ASGI app over one backend."""
    api = _Api(backend)
    routes = [
        Route(API, api.endpoint("create", api.create), methods=["POST"]),
        Route(API, api.endpoint("list", api.list_tasks), methods=["GET"]),
        Route(API + "/{task_id}", api.endpoint("get", api.get), methods=["GET"]),
        Route(API + "/{task_id}", api.endpoint("delete", api.delete), methods=["DELETE"]),
        Route("/files/{task_id}/{name}", api.download, methods=["GET"]),
        Route("/_sim/reset", api.reset, methods=["POST"]),
        Route("/_sim/faults", api.faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/stats", api.stats, methods=["GET"]),
        Route("/_sim/tasks", api.latencies, methods=["GET"]),
        Route("/_sim/config", api.config, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, lifespan=api.lifespan)


class _Api:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Run the ticker that moves tasks along and delivers callbacks while the server is up."""
        async with httpx.AsyncClient(timeout=5.0) as http:
            ticker = asyncio.create_task(self._tick(http))
            try:
                yield
            finally:
                ticker.cancel()

    async def _tick(self, http: httpx.AsyncClient) -> None:
        chains: dict[str, asyncio.Task[None]] = {}  # per task: its callbacks arrive in status order
        while True:
            for event in self.backend.tick():
                task_id = str(event["body"]["id"])
                chains[task_id] = asyncio.create_task(_deliver(http, event, chains.get(task_id)))
            for task_id in [k for k, v in chains.items() if v.done()]:
                del chains[task_id]
            await asyncio.sleep(_TICK_SECONDS)

    def endpoint(self, name: str, handler: Handler) -> Handler:
        """Wrap a provider endpoint: count it, play a burst, check the key, play armed faults, map errors to the
        body shape."""

        async def wrapped(request: Request) -> Response:
            rid = request_id()
            self.backend.count(name)
            burst = self.backend.burst(name)
            if burst is not None and (stormy := await _play(burst)) is not None:
                return _stamp(stormy, rid)  # before any work: a burst never creates or changes anything
            try:
                _authenticate(request, self.backend.config.api_key)
                fault = self.backend.faults.take_call(name, "before")
                if fault is not None and (early := await _play(fault)) is not None:
                    return _stamp(early, rid)
                response = await handler(request)
                fault = self.backend.faults.take_call(name, "after")
                if fault is not None and (late := await _play(fault)) is not None:
                    return _stamp(late, rid)
                return _stamp(response, rid)
            except ProviderError as err:
                return _stamp(JSONResponse(err.body(rid), err.status, headers=err.headers), rid)
            except Exception:  # a simulator bug must still look like the provider: a JSON 500, not a reset
                log.exception("simulator error on %s", name)
                return _stamp(JSONResponse(internal().body(rid), 500), rid)

        return wrapped

    async def create(self, request: Request) -> Response:
        """POST /contents/generations/tasks."""
        raw = await request.body()
        if len(raw) > c.BODY_BYTES_MAX:
            raise ProviderError(413, "RequestEntityTooLarge", "Request Entity Too Large", "")
        try:
            body = json.loads(raw)
        except ValueError:  # not JSON, not UTF-8, or a number too long to parse
            raise invalid("body", "the request body is not valid JSON") from None
        config = self.backend.config
        spec = validate_create(body, config.region, config.endpoints)
        if spec.draft_task_id is not None:
            await asyncio.to_thread(self.backend.check_draft, spec.draft_task_id)
        media = await self._media(spec)
        task = await asyncio.to_thread(self.backend.create, spec, media, body)
        lost = self.backend.lost_create()
        if lost is not None and (played := await _play(lost)) is not None:
            return played  # the task exists and runs; only its answer is lost
        answer = {"id": task.id}
        if spec.safety_identifier is not None:
            answer["safety_identifier"] = spec.safety_identifier
        return JSONResponse(answer)

    async def _media(self, spec: CreateSpec) -> MediaBytes:
        media = MediaBytes()
        for image in spec.images:
            data = await self._image_bytes(image)
            if data is None:
                continue  # asset:// ids are trusted library items with no bytes to check here
            size = await asyncio.to_thread(check_image, data, image.param, spec.model,
                                           self.backend.config.exif_orientation == "apply")
            if image.role in {"", "first_frame"}:
                media.first, media.like_size = data, size
            elif image.role == "last_frame":
                media.last = data
            elif media.like_size is None:
                media.like_size = size
        return media

    async def _image_bytes(self, image: ImageInput) -> bytes | None:
        if image.url.startswith("data:"):
            return decode_data_url(image.url, image.param)
        if image.url.startswith("asset://"):
            return None
        try:
            own = await asyncio.to_thread(self.backend.read_own_url, image.url)
        except ProviderError:  # an expired or deleted result: to the caller it is a URL that cannot be fetched
            raise invalid(image.param, "resource download failed") from None
        if own is not None:
            return own
        return await _fetch(image.url, image.param)

    async def get(self, request: Request) -> Response:
        """GET /contents/generations/tasks/{id}."""
        return JSONResponse(await asyncio.to_thread(self.backend.get, request.path_params["task_id"]))

    async def list_tasks(self, request: Request) -> Response:
        """GET /contents/generations/tasks with filter.* and paging."""
        self.backend.admit_list()
        query = request.query_params
        status = query.get("filter.status")
        if status is not None and status not in _STATUSES:
            raise invalid("filter.status", f"{status} is not a task status")
        page = await asyncio.to_thread(
            self.backend.list_tasks, page_num=_page(query.get("page_num"), "page_num", 1),
            page_size=_page(query.get("page_size"), "page_size", 20), status=status,
            task_ids=query.getlist("filter.task_ids"), model=query.get("filter.model"),
            service_tier=query.get("filter.service_tier", "default"),
        )
        return JSONResponse(page)

    async def delete(self, request: Request) -> Response:
        """DELETE /contents/generations/tasks/{id}."""
        await asyncio.to_thread(self.backend.delete, request.path_params["task_id"])
        return JSONResponse({})

    async def download(self, request: Request) -> Response:
        """GET a rendered file through its signed URL."""
        rid = request_id()
        self.backend.count("download")
        burst = self.backend.burst("download")
        if burst is not None and (stormy := await _play(burst)) is not None:
            return _stamp(stormy, rid)
        query = request.query_params
        try:
            path = self.backend.file_for(request.path_params["task_id"], request.path_params["name"],
                                         query.get("expires", "0"), query.get("signature", ""))
            fault = self.backend.faults.take_call("download", "before")
            if fault is not None and fault.kind == "truncate":
                return _truncated(path.read_bytes(), "video/mp4" if path.suffix == ".mp4" else "image/png")
            if fault is not None and (played := await _play(fault)) is not None:
                return _stamp(played, rid)
        except ProviderError as err:
            return _stamp(JSONResponse(err.body(rid), err.status), rid)
        return FileResponse(path, headers={"x-request-id": rid})

    async def reset(self, _request: Request) -> Response:
        """POST /_sim/reset: forget every task, fault and counter."""
        await asyncio.to_thread(self.backend.reset)
        return JSONResponse({"reset": True})

    async def faults(self, request: Request) -> Response:
        """GET lists armed faults; POST arms one (a CallFault or a TaskFault); DELETE disarms all."""
        if request.method == "POST":
            try:
                body = await request.json()
                rule = TaskFault if isinstance(body, dict) and "outcome" in body else CallFault
                self.backend.faults.arm(rule.model_validate(body))
            except ValueError as exc:  # not JSON, or not a fault rule (pydantic errors are ValueErrors)
                return JSONResponse({"error": str(exc)}, 400)
        elif request.method == "DELETE":
            self.backend.faults.clear()
        return JSONResponse({"armed": self.backend.faults.armed()})

    async def stats(self, _request: Request) -> Response:
        """GET /_sim/stats: request counters, weather and store counters (see backend.py), tasks by status."""
        return JSONResponse(await asyncio.to_thread(self.backend.stats))

    async def latencies(self, _request: Request) -> Response:
        """GET /_sim/tasks: every task's id, status, seed and latency floor (for benchmarks of a client)."""
        return JSONResponse(self.backend.latencies())

    async def config(self, request: Request) -> Response:
        """GET the config; POST changes fields of it (e.g. {"speed": 50})."""
        if request.method == "POST":
            try:
                changes = await request.json()
                self.backend.config = self.backend.config.model_validate(
                    {**self.backend.config.model_dump(), **changes})
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(self.backend.config.model_dump(mode="json", exclude={"api_key"}))


def _authenticate(request: Request, expected: str | None) -> None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip() or (expected is not None and key.strip() != expected):
        raise unauthenticated()


async def _play(fault: CallFault) -> Response | None:
    """The response an armed fault gives; None when it only delays the real answer."""
    if fault.kind == "stall":
        await asyncio.sleep(fault.stall_seconds)
        return None
    if fault.kind == "drop":
        return _truncated(b'{"id":"' + b"x" * 64, "application/json")
    if fault.kind == "502":
        # The gateway in front of the service answers this itself: its own plain-text page, not the provider's JSON.
        return PlainTextResponse("upstream connect error or disconnect/reset before headers. reset reason: "
                                 "connection termination", 502, headers={"server": "istio-envoy"})
    if fault.kind == "429":
        err = ProviderError(429, fault.code or "ServerOverloaded", "The service is overloaded, please retry later.",
                            headers={"Retry-After": fault.retry_after} if fault.retry_after else None)
    elif fault.kind == "503":
        err = ProviderError(503, fault.code or "ServiceUnavailable", "The service is temporarily unavailable.")
    else:
        err = internal()
    return JSONResponse(err.body(request_id()), err.status, headers=err.headers)


def _truncated(data: bytes, media_type: str) -> Response:
    """Declares the full length and sends half: the peer sees the connection close mid-body."""

    async def half() -> AsyncIterator[bytes]:
        yield data[: len(data) // 2]

    return StreamingResponse(half(), media_type=media_type, headers={"content-length": str(len(data))})


def _stamp(response: Response, rid: str) -> Response:
    response.headers["x-request-id"] = rid
    return response


def _page(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 500:
        raise invalid(name, f"{name} must be an integer in [1, 500]")
    return int(value)


async def _fetch(url: str, param: str) -> bytes:
    """Fetch a remote image as the provider does; failures are the provider's InvalidParameter."""
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=True) as http:
            response = await http.get(url)
    except httpx.TimeoutException:
        raise invalid(param, "timeout while fetching resource") from None
    except httpx.HTTPError:
        raise invalid(param, "resource download failed") from None
    if response.status_code != 200:
        raise invalid(param, "resource download failed")
    return response.content


async def _deliver(http: httpx.AsyncClient, event: dict[str, Any], after: asyncio.Task[None] | None) -> None:
    """POST one callback once the task's previous one is done; terminal statuses are retried 3 times."""
    if after is not None:
        await asyncio.wait([after])
    for _attempt in range(1 + int(event["retries"])):
        try:
            response = await http.post(str(event["url"]), json=event["body"])
        except (httpx.HTTPError, httpx.InvalidURL, ValueError):
            continue  # the receiver's problem, as with the provider: the task itself is unaffected
        if response.is_success:
            return
