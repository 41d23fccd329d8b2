"""Reconcile: find the orphan task of an ambiguous create through the list endpoint, paced at 1 call per second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orchestrator.api import AmbiguousCreate, ArkClient, CreateTaskRequest, ServerError, Task, TextContent, reconcile
from orchestrator.api.reconcile import LIST_INTERVAL_S, LIST_MAX_PAGE, LIST_PAGE_SIZE, matches
from tests.api.conftest import Sleeps

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., ArkClient]
MODEL = "dreamina-seedance-2-0-260128"
AFTER, BEFORE = 1_000_000, 1_000_300


def request(**fields: Any) -> CreateTaskRequest:
    base: dict[str, Any] = {"model": MODEL, "content": [TextContent(text="x")], "seed": 77, "duration": 5,
                            "ratio": "16:9", "resolution": "720p"}
    return CreateTaskRequest(**{**base, **fields})


def ambiguous(req: CreateTaskRequest | None = None) -> AmbiguousCreate:
    return AmbiguousCreate(req or request(), created_after=AFTER, created_before=BEFORE, cause=ServerError("x"))


def task(task_id: str, created_at: int, **fields: Any) -> dict[str, Any]:
    base = {"id": task_id, "model": MODEL, "status": "queued", "created_at": created_at, "seed": 77, "duration": 5,
            "ratio": "16:9", "resolution": "720p"}
    return {**base, **fields}


class Lister:
    """A list endpoint over a fixed task set, newest first unless told otherwise."""

    def __init__(self, tasks: list[dict[str, Any]], *, newest_first: bool = True, total: int | None = None) -> None:
        key = (lambda t: -t["created_at"]) if newest_first else (lambda t: t["created_at"])
        self.tasks = sorted(tasks, key=key)
        self.total = total
        self.queries: list[httpx.QueryParams] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(request.url.params)
        num, size = int(request.url.params["page_num"]), int(request.url.params["page_size"])
        items = self.tasks[(num - 1) * size:num * size]
        return httpx.Response(200, json={"total": self.total or len(self.tasks), "items": items})


def filler(n: int, start: int, step: int = -1) -> list[dict[str, Any]]:
    """n tasks that match nothing (other seeds), created from `start` on by `step` seconds."""
    return [task(f"other-{i}", start + i * step, seed=1000 + i) for i in range(n)]


async def test_finds_the_orphan_on_the_first_page(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([task("orphan", AFTER + 10), task("old", AFTER - 5000, seed=3)])
    async with make_client(lister) as ark:
        found = await reconcile(ark, ambiguous())
    assert found is not None and found.id == "orphan"
    assert len(lister.queries) == 1 and sleeps.waits == []
    assert lister.queries[0].multi_items() == [("page_num", "1"), ("page_size", str(LIST_PAGE_SIZE)),
                                               ("filter.model", MODEL)]


async def test_pages_are_paced_one_second_apart(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([*filler(250, BEFORE, step=0), task("orphan", AFTER + 1), task("old", AFTER - 1, seed=3)])
    async with make_client(lister) as ark:
        found = await reconcile(ark, ambiguous())
    assert found is not None and found.id == "orphan"
    assert len(lister.queries) == 3 and sleeps.waits == [LIST_INTERVAL_S, LIST_INTERVAL_S]


async def test_stops_once_a_page_reaches_before_the_window(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister(filler(LIST_PAGE_SIZE * 3, AFTER + 50))  # page 1 already crosses AFTER
    async with make_client(lister) as ark:
        assert await reconcile(ark, ambiguous()) is None
    assert len(lister.queries) == 1


async def test_keeps_reading_when_the_order_is_not_newest_first(make_client: MakeClient) -> None:
    lister = Lister([*filler(LIST_PAGE_SIZE, AFTER - 9000, step=1), task("orphan", AFTER + 10)], newest_first=False)
    async with make_client(lister) as ark:
        found = await reconcile(ark, ambiguous())
    assert found is not None and found.id == "orphan" and len(lister.queries) == 2


async def test_stops_at_page_500(make_client: MakeClient, sleeps: Sleeps) -> None:
    page = [task(f"x{i}", BEFORE, seed=5) for i in range(LIST_PAGE_SIZE)]

    def endless(request: httpx.Request) -> httpx.Response:
        endless.calls += 1  # type: ignore[attr-defined]
        return httpx.Response(200, json={"total": 10**9, "items": page})

    endless.calls = 0  # type: ignore[attr-defined]
    async with make_client(endless) as ark:
        assert await reconcile(ark, ambiguous()) is None
    assert endless.calls == LIST_MAX_PAGE and len(sleeps.waits) == LIST_MAX_PAGE - 1  # type: ignore[attr-defined]


async def test_several_matches_adopt_the_newest(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    lister = Lister([task("first", AFTER + 10), task("second", AFTER + 20)])
    async with make_client(lister) as ark:
        found = await reconcile(ark, ambiguous())
    assert found is not None and found.id == "second" and "2 tasks match" in caplog.text


async def test_without_a_pinned_seed_nothing_is_listed(make_client: MakeClient) -> None:
    lister = Lister([task("orphan", AFTER + 10)])
    async with make_client(lister) as ark:
        assert await reconcile(ark, ambiguous(request(seed=None))) is None
        assert await reconcile(ark, ambiguous(request(seed=-1))) is None
    assert lister.queries == []


async def test_flex_requests_list_the_flex_tier(make_client: MakeClient) -> None:
    lister = Lister([task("orphan", AFTER + 10, service_tier="flex")])
    async with make_client(lister) as ark:
        found = await reconcile(ark, ambiguous(request(service_tier="flex")))
    assert found is not None and lister.queries[0]["filter.service_tier"] == "flex"


@pytest.mark.parametrize(
    ("req", "fields", "match"),
    [
        (request(), {}, True),
        (request(), {"seed": 78}, False),
        (request(), {"created_at": AFTER - 1}, False),
        (request(), {"created_at": BEFORE + 1}, False),
        (request(), {"created_at": None}, False),
        (request(), {"model": "dreamina-seedance-2-0-fast-260128"}, False),
        (request(), {"duration": 4}, False),
        (request(), {"ratio": "9:16"}, False),
        (request(), {"resolution": "480p"}, False),
        (request(ratio="adaptive"), {"ratio": "4:3"}, True),  # adaptive comes back resolved
        (request(duration=-1), {"duration": 11}, True),  # the model chose the length
        (request(duration=None, ratio=None, resolution=None), {"resolution": "1080p"}, True),
        (request(model="ep-20260101-abc"), {}, True),  # endpoint ids report the model name
        (request(model="seedance-1-0-pro-250528", duration=None, frames=57),
         {"model": "seedance-1-0-pro-250528", "duration": None, "frames": 57}, True),
        (request(model="seedance-1-0-pro-250528", duration=None, frames=57),
         {"model": "seedance-1-0-pro-250528", "duration": None, "frames": 61}, False),
    ],
)
def test_matches(req: CreateTaskRequest, fields: dict[str, Any], match: bool) -> None:
    listed = Task.model_validate({**task("t", AFTER + 1), **fields})
    assert matches(listed, ambiguous(req)) is match
