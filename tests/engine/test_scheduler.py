"""The graph runner with a fake shot runner (house rules 5, 7): children start on their parent's published frame,
failures block only descendants, independent shots overlap. Ordering is measured with events, never wall time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import pytest

from orchestrator.engine.scheduler import Blocked, GraphResult, run_graph

T = TypeVar("T")
Publish = Callable[[str], None]


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), timeout=5)

    return asyncio.run(bounded())


def graph(order: list[str], parent_of: Mapping[str, str | None],
          run_one: Callable[[str, str | None, Publish], Awaitable[str]]) -> GraphResult[str]:
    async def main() -> GraphResult[str]:
        return await run_graph(order, parent_of, run_one)

    return run(main)


async def plain(shot: str, handoff: str | None, publish: Publish) -> str:
    """Publish the frame, then finish."""
    await asyncio.sleep(0)
    publish(f"frame:{shot}")
    await asyncio.sleep(0)
    return f"clip:{shot}"


def test_every_shot_runs_once_and_children_get_their_parents_frame() -> None:
    seen: dict[str, str | None] = {}
    calls: list[str] = []

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        calls.append(shot)
        seen[shot] = handoff
        return await plain(shot, handoff, publish)

    parents = {"a": None, "b": "a", "c": "b", "d": "a", "e": None}
    result = graph(["a", "e", "b", "d", "c"], parents, one)
    assert sorted(calls) == ["a", "b", "c", "d", "e"]
    assert seen == {"a": None, "b": "frame:a", "c": "frame:b", "d": "frame:a", "e": None}
    assert result.done == {s: f"clip:{s}" for s in "abcde"}
    assert result.failed == {}
    assert result.blocked == {}


def test_child_starts_after_publish_and_before_its_parent_returns() -> None:
    log: list[str] = []
    child_started = asyncio.Event()

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        log.append(f"{shot} start {handoff}")
        if shot == "parent":
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            log.append("parent publish")
            publish("last-frame")
            # Still "downloading the clip": the child must start meanwhile, or this never finishes.
            await asyncio.wait_for(child_started.wait(), timeout=2)
            log.append("parent end")
        else:
            child_started.set()
            log.append("child end")
        return shot

    result = graph(["parent", "child"], {"parent": None, "child": "parent"}, one)
    assert log == ["parent start None", "parent publish", "child start last-frame", "child end", "parent end"]
    assert set(result.done) == {"parent", "child"}


def test_child_waits_while_its_parent_has_not_published() -> None:
    log: list[str] = []

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        log.append(f"{shot} start")
        if shot == "parent":
            for _ in range(10):
                await asyncio.sleep(0)  # give the child every chance to start too early
            log.append("parent publish")
            publish("f")
        return shot

    graph(["parent", "child"], {"parent": None, "child": "parent"}, one)
    assert log == ["parent start", "parent publish", "child start"]


def test_only_the_first_publish_counts() -> None:
    seen: list[str | None] = []

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        if shot == "a":
            publish("first")
            publish("second")
        else:
            seen.append(handoff)
        return shot

    graph(["a", "b"], {"a": None, "b": "a"}, one)
    assert seen == ["first"]


def test_a_failure_blocks_exactly_its_descendants() -> None:
    #   a -> b -> c -> c2          b fails: c and c2 are blocked by b
    #   a -> d                     d, a's other child, finishes
    #   e -> f,  g                 other branches finish
    parents = {"a": None, "b": "a", "c": "b", "c2": "c", "d": "a", "e": None, "f": "e", "g": None}
    boom = RuntimeError("task failed")
    started: list[str] = []

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        started.append(shot)
        await asyncio.sleep(0)
        if shot == "b":
            raise boom
        publish(f"frame:{shot}")
        return f"clip:{shot}"

    result = graph(["a", "e", "g", "b", "d", "f", "c", "c2"], parents, one)
    assert result.failed == {"b": boom}
    assert result.blocked == {"c": "b", "c2": "b"}
    assert result.done == {s: f"clip:{s}" for s in ("a", "d", "e", "f", "g")}
    assert "c" not in started
    assert "c2" not in started


def test_a_failed_root_blocks_its_whole_tree_only() -> None:
    parents = {"a": None, "b": "a", "c": "b", "x": None, "y": "x"}

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        if shot == "a":
            raise ValueError("bad")
        return await plain(shot, handoff, publish)

    result = graph(["a", "x", "b", "y", "c"], parents, one)
    assert list(result.failed) == ["a"]
    assert isinstance(result.failed["a"], ValueError)
    assert result.blocked == {"b": "a", "c": "a"}
    assert set(result.done) == {"x", "y"}


def test_a_shot_that_finishes_without_publishing_blocks_its_children() -> None:
    started: list[str] = []

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        started.append(shot)
        if shot == "draft":
            return "clip without a last frame"
        return await plain(shot, handoff, publish)

    parents = {"draft": None, "next": "draft", "after-next": "next", "solo": None}
    result = graph(["draft", "solo", "next", "after-next"], parents, one)
    assert result.done == {"draft": "clip without a last frame", "solo": "clip:solo"}
    assert result.failed == {}
    assert result.blocked == {"next": "draft", "after-next": "draft"}
    assert sorted(started) == ["draft", "solo"]


def test_a_shot_that_fails_after_publishing_still_released_its_children() -> None:
    # The last frame was in hand (children released), then the clip download failed.
    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        if shot == "a":
            publish("frame:a")
            await asyncio.sleep(0)
            raise OSError("download failed")
        return f"clip:{shot}:{handoff}"

    result = graph(["a", "b"], {"a": None, "b": "a"}, one)
    assert list(result.failed) == ["a"]
    assert result.done == {"b": "clip:b:frame:a"}
    assert result.blocked == {}


def test_independent_shots_run_concurrently() -> None:
    shots = ["s1", "s2", "s3", "s4"]
    started = {s: asyncio.Event() for s in shots}
    running = peak = 0

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started[shot].set()
        # Each shot waits until every shot has started: only possible if they overlap.
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started.values())), timeout=2)
        running -= 1
        publish(shot)
        return shot

    result = graph(shots, dict.fromkeys(shots), one)
    assert peak == 4
    assert set(result.done) == set(shots)


def test_siblings_run_concurrently_once_their_parent_published() -> None:
    kids = ["k1", "k2", "k3"]
    started = {k: asyncio.Event() for k in kids}

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        if shot == "root":
            publish("frame")
            return shot
        started[shot].set()
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started.values())), timeout=2)
        return f"{shot}:{handoff}"

    result = graph(["root", *kids], {"root": None, **dict.fromkeys(kids, "root")}, one)
    assert result.done == {"root": "root", "k1": "k1:frame", "k2": "k2:frame", "k3": "k3:frame"}


def test_a_parent_outside_the_run_counts_as_none() -> None:
    # `--only` may run a child whose parent is not part of this run's order.
    seen: dict[str, str | None] = {}

    async def one(shot: str, handoff: str | None, publish: Publish) -> str:
        seen[shot] = handoff
        return shot

    result = graph(["child"], {"child": "elsewhere"}, one)
    assert seen == {"child": None}
    assert set(result.done) == {"child"}


def test_cancelling_the_run_cancels_every_running_shot() -> None:
    cancelled: list[str] = []

    async def main() -> None:
        entered = asyncio.Event()
        count = 0

        async def one(shot: str, handoff: str | None, publish: Publish) -> str:
            nonlocal count
            count += 1
            if count == 2:
                entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(shot)
                raise
            return shot

        task = asyncio.create_task(run_graph(["a", "b", "c"], {"a": None, "b": None, "c": "a"}, one))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main)
    assert sorted(cancelled) == ["a", "b"]


def test_blocked_names_the_failed_ancestor() -> None:
    exc = Blocked("pick")
    assert exc.ancestor == "pick"
    assert str(exc) == "pick"
