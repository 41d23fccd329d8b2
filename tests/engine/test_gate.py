"""The create gate: creates the list could not tell apart never overlap; others pass freely."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orchestrator.api.types import CreateTaskRequest, TextContent
from orchestrator.engine.gate import CreateGate, echo_signature


def request(**fields: Any) -> CreateTaskRequest:
    base: dict[str, Any] = {"model": "dreamina-seedance-2-0-260128", "content": [TextContent(text="a")],
                            "resolution": "720p", "ratio": "16:9", "duration": 5, "generate_audio": True, "seed": 1}
    return CreateTaskRequest(**{**base, **fields})


@pytest.mark.parametrize(("other", "alike"), [
    (request(seed=2, content=[TextContent(text="something else")]), True),  # prompt and seed are not echoed safely
    (request(ratio="adaptive"), True),  # adaptive comes back resolved, maybe as 16:9
    (request(duration=6), False),
    (request(resolution="480p"), False),
    (request(generate_audio=False), False),
    (request(model="dreamina-seedance-2-0-fast-260128"), False),
    (request(execution_expires_after=3600), False),
])
def test_echo_signature(other: CreateTaskRequest, alike: bool) -> None:
    assert (echo_signature(request()) == echo_signature(other)) is alike


def test_alike_creates_go_one_at_a_time_and_others_overlap() -> None:
    gate = CreateGate()
    requests = {"a": request(), "b": request(seed=5), "c": request(duration=6), "d": request(duration=6, seed=9)}
    inside: list[str] = []
    alike_seen: list[int] = []  # on entering: how many alike creates were inside
    others_seen: list[int] = []  # on entering: how many creates of another signature were inside

    async def create(name: str) -> None:
        req = requests[name]
        async with gate.hold(req):
            mine = echo_signature(req)
            alike_seen.append(sum(echo_signature(requests[n]) == mine for n in inside))
            others_seen.append(sum(echo_signature(requests[n]) != mine for n in inside))
            inside.append(name)
            await asyncio.sleep(0.02)
            inside.remove(name)

    async def main() -> None:
        await asyncio.gather(*(create(n) for n in requests))

    asyncio.run(main())
    assert alike_seen == [0, 0, 0, 0]  # never two alike inside at once
    assert max(others_seen) >= 1  # creates that can be told apart did overlap
