"""Reconcile: find the task of a create whose answer was lost, through the list endpoint: every page through the
process-wide 1-per-second pacer, "no task" believed only from a look after the list-lag window, and several
candidates that nothing tells apart reported, never guessed between."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orchestrator.api import ArkClient, CreateTaskRequest, Task, TextContent, reconcile
from orchestrator.api import retry as policy
from orchestrator.api.pacer import LIST_INTERVAL_S, Pacer
from orchestrator.api.reconcile import LIST_MAX_PAGE, LIST_PAGE_SIZE, Verdict, Window, choose, matches
from tests.api.conftest import Sleeps

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., ArkClient]
MODEL = "dreamina-seedance-2-0-260128"
SENT = 1_000_000.0  # when the lost create was sent (the tests' virtual clock starts there)
AFTER, BEFORE = 1_000_000 - 120, 1_000_000 + 120


def request(**fields: Any) -> CreateTaskRequest:
    base: dict[str, Any] = {"model": MODEL, "content": [TextContent(text="x")], "seed": 77, "duration": 5,
                            "ratio": "16:9", "resolution": "720p", "generate_audio": True}
    return CreateTaskRequest(**{**base, **fields})


def task(task_id: str, created_at: int, **fields: Any) -> dict[str, Any]:
    base = {"id": task_id, "model": MODEL, "status": "queued", "created_at": created_at, "seed": 77, "duration": 5,
            "ratio": "16:9", "resolution": "720p", "generate_audio": True, "service_tier": "default",
            "execution_expires_after": 172800}
    return {**base, **fields}


class Lister:
    """A list endpoint over a task set, newest first unless told otherwise; `visible_from` hides tasks until the
    n-th list call (list lag)."""

    def __init__(self, tasks: list[dict[str, Any]], *, newest_first: bool = True, total: int | None = None,
                 visible_from: dict[str, int] | None = None) -> None:
        key = (lambda t: -t["created_at"]) if newest_first else (lambda t: t["created_at"])
        self.tasks = sorted(tasks, key=key)
        self.total = total
        self.visible_from = visible_from or {}
        self.queries: list[httpx.QueryParams] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(request.url.params)
        shown = [t for t in self.tasks if self.visible_from.get(t["id"], 1) <= len(self.queries)]
        num, size = int(request.url.params["page_num"]), int(request.url.params["page_size"])
        items = shown[(num - 1) * size:num * size]
        return httpx.Response(200, json={"total": self.total or len(shown), "items": items})


def filler(n: int, start: int, step: int = -1) -> list[dict[str, Any]]:
    """n tasks that match nothing (another resolution), created from `start` on by `step` seconds."""
    return [task(f"other-{i}", start + i * step, resolution="480p") for i in range(n)]


async def look(ark: ArkClient, sleeps: Sleeps, req: CreateTaskRequest | None = None, *, sent: float = SENT,
               scale: float = 1.0, **kwargs: Any) -> Verdict:
    sleeps.now = max(sleeps.now, SENT)
    return await reconcile(ark, req or request(), sent, scale=scale, clock=lambda: sleeps.now, **kwargs)


async def test_finds_the_orphan_at_the_first_look(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([task("orphan", int(SENT) + 1), task("old", AFTER - 5000)])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps)
    assert verdict.found is not None and verdict.found.id == "orphan"
    assert len(lister.queries) == 1 and sleeps.waits == []
    assert lister.queries[0].multi_items() == [("page_num", "1"), ("page_size", str(LIST_PAGE_SIZE)),
                                               ("filter.model", MODEL)]


async def test_list_lag_is_waited_out(make_client: MakeClient, sleeps: Sleeps) -> None:
    """The orphan shows only from the third look on: the search goes on, paced, until it does."""
    lister = Lister([task("orphan", int(SENT) + 1)], visible_from={"orphan": 3})
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps)
    assert verdict.found is not None and verdict.found.id == "orphan"
    assert len(lister.queries) == 3
    assert sleeps.waits == [policy.RECONCILE_STEP_S, policy.RECONCILE_STEP_S]


async def test_no_task_is_believed_only_after_the_window(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([task("old", AFTER - 5000)])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps)
    assert verdict == Verdict()
    looks = round(policy.RECONCILE_WINDOW_S / policy.RECONCILE_STEP_S) + 1
    assert len(lister.queries) == looks
    assert sum(sleeps.waits) == pytest.approx(policy.RECONCILE_WINDOW_S)


async def test_the_window_scales_and_the_pacer_does_not(make_client: MakeClient, sleeps: Sleeps) -> None:
    """At a poll scale of 1/100 the window is 0.6 s, but two looks are still one second apart (a rate limit is
    real time)."""
    lister = Lister([])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps, scale=0.01)
    assert verdict == Verdict() and len(lister.queries) >= 2
    assert max(sleeps.waits) == pytest.approx(LIST_INTERVAL_S, abs=0.01)


async def test_a_create_sent_long_ago_needs_one_look(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps, sent=SENT - 3600)
    assert verdict == Verdict() and len(lister.queries) == 1 and sleeps.waits == []


async def test_pages_are_paced_a_second_apart_and_a_little_more(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([*filler(250, BEFORE, step=0), task("orphan", int(SENT) + 1)])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps)
    assert verdict.found is not None and verdict.found.id == "orphan"
    assert len(lister.queries) == 3 and sleeps.waits == pytest.approx([LIST_INTERVAL_S, LIST_INTERVAL_S])


async def test_one_pacer_for_every_caller(make_client: MakeClient, sleeps: Sleeps) -> None:
    """Two clients of one provider share the pace: their lists never come closer than a second."""
    pacer = Pacer(clock=lambda: sleeps.now)
    lister = Lister([task("orphan", int(SENT) + 1)])
    async with make_client(lister, pacer=pacer) as one, make_client(lister, pacer=pacer) as two:
        for ark in (one, two, one):
            await ark.list(page_num=1, page_size=1)
    assert sleeps.waits == pytest.approx([LIST_INTERVAL_S, LIST_INTERVAL_S])


async def test_stops_once_a_page_reaches_before_the_window(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister(filler(LIST_PAGE_SIZE * 3, int(SENT) - 3600 - 60))  # page 1 already crosses the window
    async with make_client(lister) as ark:
        await look(ark, sleeps, sent=SENT - 3600)
    assert len(lister.queries) == 1


async def test_keeps_reading_when_the_order_is_not_newest_first(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([*filler(LIST_PAGE_SIZE, AFTER - 9000, step=1), task("orphan", int(SENT) + 10)],
                    newest_first=False)
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps)
    assert verdict.found is not None and verdict.found.id == "orphan" and len(lister.queries) == 2


async def test_stops_at_page_500(make_client: MakeClient, sleeps: Sleeps) -> None:
    page = [task(f"x{i}", int(SENT), resolution="480p") for i in range(LIST_PAGE_SIZE)]

    def endless(request: httpx.Request) -> httpx.Response:
        endless.calls += 1  # type: ignore[attr-defined]
        return httpx.Response(200, json={"total": 10**9, "items": page})

    endless.calls = 0  # type: ignore[attr-defined]
    async with make_client(endless) as ark:
        assert await look(ark, sleeps, sent=SENT - 3600) == Verdict()
    assert endless.calls == LIST_MAX_PAGE  # type: ignore[attr-defined]


async def test_candidates_nothing_tells_apart_are_reported_not_guessed(make_client: MakeClient,
                                                                        sleeps: Sleeps) -> None:
    lister = Lister([task("first", int(SENT) + 1, seed=5), task("second", int(SENT) + 2, seed=6)])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps)
    assert verdict.ambiguous and verdict.found is None
    assert {t.id for t in verdict.candidates} == {"first", "second"}


async def test_owned_tasks_are_never_candidates(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([task("mine", int(SENT) + 1, seed=5), task("orphan", int(SENT) + 2, seed=6)])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps, exclude={"mine"})
    assert verdict.found is not None and verdict.found.id == "orphan"


async def test_flex_requests_list_the_flex_tier(make_client: MakeClient, sleeps: Sleeps) -> None:
    lister = Lister([task("orphan", int(SENT) + 10, service_tier="flex")])
    async with make_client(lister) as ark:
        verdict = await look(ark, sleeps, request(service_tier="flex"))
    assert verdict.found is not None and lister.queries[0]["filter.service_tier"] == "flex"


def listed(task_id: str, seed: int) -> Task:
    return Task.model_validate(task(task_id, int(SENT), seed=seed))


@pytest.mark.parametrize(
    ("seeds", "echo", "found", "ambiguous"),
    [
        ([77], None, "t0", False),
        ([5], None, "t0", False),  # seeds not known to be echoed: the one candidate is ours
        ([5], False, "t0", False),
        ([5], True, None, False),  # seeds are echoed and this is not ours: nothing was made
        ([77, 5], None, "t0", False),  # our seed reported back decides
        ([77, 5], True, "t0", False),
        ([5, 6], None, None, True),  # nothing tells them apart
        ([5, 6], False, None, True),
        ([5, 6], True, None, False),
        ([77, 77], None, None, True),  # the same pinned seed twice
        ([], None, None, False),
    ],
)
def test_choose(seeds: list[int], echo: bool | None, found: str | None, ambiguous: bool) -> None:
    verdict = choose([listed(f"t{i}", s) for i, s in enumerate(seeds)], 77, echo)
    assert (verdict.found.id if verdict.found else None, verdict.ambiguous) == (found, ambiguous)


WINDOW = Window(AFTER, BEFORE)


@pytest.mark.parametrize(
    ("req", "fields", "match"),
    [
        (request(), {}, True),
        (request(), {"seed": 78}, True),  # the seed is not an echo we can rely on: `choose` weighs it
        (request(), {"created_at": AFTER - 1}, False),
        (request(), {"created_at": BEFORE + 1}, False),
        (request(), {"created_at": None}, False),
        (request(), {"model": "dreamina-seedance-2-0-fast-260128"}, False),
        (request(), {"duration": 4}, False),
        (request(), {"ratio": "9:16"}, False),
        (request(), {"resolution": "480p"}, False),
        (request(), {"generate_audio": False}, False),
        (request(), {"generate_audio": None}, True),  # 2.0 mini may leave it out: it tells nothing
        (request(service_tier="flex"), {}, False),
        (request(execution_expires_after=3600), {}, False),
        (request(execution_expires_after=3600), {"execution_expires_after": 3600}, True),
        (request(ratio="adaptive"), {"ratio": "4:3"}, True),  # adaptive comes back resolved
        (request(duration=-1), {"duration": 11}, True),  # the model chose the length
        (request(duration=None, ratio=None, resolution=None), {"resolution": "1080p"}, True),
        (request(model="ep-20260101-abc"), {}, True),  # endpoint ids report the model name
        (request(model="ep-20260101-abc"), {"model": "doubao-seedance-2-0-260128"}, True),  # the served model
        (request(model="ep-20260101-abc"), {"model": "ep-20260101-abc"}, True),  # or the endpoint itself
        (request(model="seedance-1-0-pro-250528", duration=None, frames=57, generate_audio=None),
         {"model": "seedance-1-0-pro-250528", "duration": None, "frames": 57}, True),
        (request(model="seedance-1-0-pro-250528", duration=None, frames=57, generate_audio=None),
         {"model": "seedance-1-0-pro-250528", "duration": None, "frames": 61}, False),
    ],
)
def test_matches(req: CreateTaskRequest, fields: dict[str, Any], match: bool) -> None:
    candidate = Task.model_validate({**task("t", AFTER + 1), **fields})
    assert matches(candidate, req, WINDOW) is match
