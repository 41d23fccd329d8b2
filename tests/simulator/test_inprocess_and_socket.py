"""The same scenario against the simulator in-process (ASGI, no socket) and over a real socket: the backend and
the HTTP layer are separate, so both must tell the same story (DESIGN.md §10 rule 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from orchestrator.simulator.backend import Backend
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.http import build_app
from orchestrator.simulator.server import SimulatorServer
from tests.simulator.conftest import BENIGN

# list lag, read-after-write 404s and seed replacement are off: the story here is about both layers agreeing
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("benign")]
TASKS = "/api/v3/contents/generations/tasks"
AUTH = {"Authorization": "Bearer k"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["in-process", "socket"])
async def client(request: pytest.FixtureRequest, sim: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "socket":
        async with httpx.AsyncClient(base_url=sim.root_url, headers=AUTH) as http:
            yield http
        return
    backend = Backend(SimConfig(speed=1000.0, queue_seconds=0.0, list_qps=None, **BENIGN))
    backend.public_url = "http://sim"
    transport = httpx.ASGITransport(app=build_app(backend))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as http:
            yield http
    finally:
        backend.close()


async def test_same_story_either_way(client: httpx.AsyncClient) -> None:
    refused = await client.post(TASKS, json={"model": "dreamina-seedance-2-0-260128", "content": []})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "MissingParameter")
    body = {"model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": "apple"}],
            "resolution": "480p", "duration": 4, "seed": 11, "return_last_frame": True}
    task_id = (await client.post(TASKS, json=body)).json()["id"]
    for _ in range(600):
        task = (await client.get(f"{TASKS}/{task_id}")).json()
        if task["status"] == "succeeded":
            break
        await anyio.sleep(0.05)
    assert (task["status"], task["usage"]["completion_tokens"], task["seed"]) == ("succeeded", 40594, 11)
    assert (await client.get(TASKS, params={"filter.task_ids": task_id})).json()["total"] == 1
    video = await client.get(task["content"]["video_url"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert (await client.delete(f"{TASKS}/{task_id}")).json() == {}
    assert (await client.get(f"{TASKS}/{task_id}")).status_code == 404
