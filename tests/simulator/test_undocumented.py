"""The provider's undocumented behaviours, each a SimConfig setting, proved on and off over a real socket: list lag,
seed echo, read-after-write 404s, URL signing, lost create answers, bursts of 429/5xx, and the hostile preset."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orchestrator.simulator.backend import Backend
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.faults import CallFault
from orchestrator.simulator.server import SimulatorServer, control
from tests.simulator.conftest import AUTH, BENIGN, TASKS, finished

M20 = "dreamina-seedance-2-0-260128"
BURST_KINDS = {(429, None), (429, "1"), (502, None), (503, None)}


def create(sim: SimulatorServer, **fields: Any) -> httpx.Response:
    payload = {"model": M20, "content": [{"type": "text", "text": "tea"}], "resolution": "480p", "duration": 4,
               **fields}
    return httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH)


def get(sim: SimulatorServer, task_id: str) -> httpx.Response:
    return httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH)


def listed(sim: SimulatorServer, **params: Any) -> dict[str, Any]:
    response = httpx.get(sim.base_url + TASKS, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def configure(sim: SimulatorServer, **settings: Any) -> None:
    """Change settings live, as a user would: through POST /_sim/config (the shared fixture resets them)."""
    for key, value in control(sim.root_url, "config", settings).items():
        if key in settings:
            assert value == settings[key], key


def counter(sim: SimulatorServer, name: str) -> int:
    return int(sim.stats()["counters"].get(name, 0))


# --- list lag ----------------------------------------------------------------------------------------------------


def test_a_new_task_is_missing_from_lists_until_the_lag_has_passed(sim: SimulatorServer) -> None:
    configure(sim, speed=5.0, list_lag_seconds=10.0, read_after_write_seconds=0.0)  # 2 s at speed 5
    task_id = create(sim).json()["id"]
    assert listed(sim) == {"total": 0, "items": []}
    assert listed(sim, **{"filter.task_ids": task_id})["total"] == 0
    assert counter(sim, "list_hidden") == 2
    assert get(sim, task_id).status_code == 200  # GET is not affected
    time.sleep(2.1)
    page = listed(sim)
    assert (page["total"], [t["id"] for t in page["items"]]) == (1, [task_id])


def test_without_list_lag_a_new_task_is_listed_at_once(sim: SimulatorServer) -> None:
    configure(sim, speed=1.0, list_lag_seconds=0.0)
    task_id = create(sim).json()["id"]
    assert [t["id"] for t in listed(sim)["items"]] == [task_id]
    assert counter(sim, "list_hidden") == 0


# --- seed echo ---------------------------------------------------------------------------------------------------


def test_by_default_the_task_shows_a_seed_of_its_own_yet_renders_with_the_sent_one(sim: SimulatorServer) -> None:
    configure(sim, read_after_write_seconds=0.0, list_lag_seconds=0.0)
    tasks = [finished(sim, create(sim, seed=777).json()["id"]) for _ in range(2)]
    shown = [t["seed"] for t in tasks]
    assert all(isinstance(s, int) and 0 <= s < 2**31 and s != 777 for s in shown)
    assert shown[0] != shown[1], "chosen per task"
    assert [t["seed"] for t in listed(sim)["items"]] == shown[::-1]
    assert [get(sim, t["id"]).json()["seed"] for t in tasks] == shown, "stable for the task"
    videos = [httpx.get(t["content"]["video_url"]).content for t in tasks]
    assert videos[0] == videos[1], "the same request and seed still give the same bytes"
    assert {t.seed for t in sim.backend.tasks.values()} == {777}


def test_echo_seed_shows_the_sent_seed_or_the_one_chosen(sim: SimulatorServer) -> None:
    configure(sim, read_after_write_seconds=0.0, echo_seed=True)
    assert get(sim, create(sim, seed=777).json()["id"]).json()["seed"] == 777
    unsent = create(sim).json()["id"]
    assert get(sim, unsent).json()["seed"] == sim.backend.tasks[unsent].seed


# --- read after write --------------------------------------------------------------------------------------------


def test_get_and_delete_of_a_new_task_answer_404_for_a_while(sim: SimulatorServer) -> None:
    configure(sim, speed=2.5, read_after_write_seconds=5.0, queue_seconds=100.0)  # 2 s at speed 2.5
    task_id = create(sim).json()["id"]
    early_get, early_delete = get(sim, task_id), httpx.delete(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH)
    unknown = get(sim, "cgt-20260101000000-zzzzz")
    for early in (early_get, early_delete):
        assert early.status_code == 404
        assert early.json()["error"]["code"] == unknown.json()["error"]["code"]  # as for an unknown id
    assert counter(sim, "early_404s") == 2
    time.sleep(2.1)
    assert get(sim, task_id).json()["status"] == "queued"
    assert httpx.delete(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).status_code == 200


def test_without_read_after_write_lag_the_first_get_finds_the_task(sim: SimulatorServer) -> None:
    configure(sim, speed=1.0, read_after_write_seconds=0.0)
    assert get(sim, create(sim).json()["id"]).status_code == 200
    assert counter(sim, "early_404s") == 0


# --- URL signing -------------------------------------------------------------------------------------------------


@pytest.fixture
def clocked() -> Iterator[tuple[SimulatorServer, list[float]]]:
    """A simulator whose clock the test moves; URLs live 100 s."""
    now = [1_800_000_000.0]
    config = SimConfig(speed=1000.0, queue_seconds=0.0, list_qps=None, url_ttl_seconds=100.0, **BENIGN)
    with SimulatorServer(backend=Backend(config, clock=lambda: now[0])) as server:
        yield server, now


def finish(sim: SimulatorServer, now: list[float]) -> dict[str, Any]:
    task_id = create(sim).json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now[0] += 0.5  # time moves only when the test says so; the render takes real time meanwhile
        task: dict[str, Any] = get(sim, task_id).json()
        if task["status"] == "succeeded":
            return task
        time.sleep(0.05)
    raise AssertionError("the task did not finish")


def test_urls_are_signed_once_and_expire_whatever_gets_happen(clocked: tuple[SimulatorServer, list[float]]) -> None:
    sim, now = clocked
    assert sim.backend.config.resign_urls is False  # the default
    task = finish(sim, now)
    url = task["content"]["video_url"]
    assert url.startswith(f"{sim.root_url}/files/")
    now[0] += 60
    later = get(sim, task["id"]).json()["content"]["video_url"]
    assert later == url, "a later GET hands out the same URL, with the same expiry"
    assert httpx.get(url).status_code == 200
    now[0] += 60  # 120 s after completion: past the 100 s lifetime
    assert httpx.get(url).status_code == 403
    assert httpx.get(get(sim, task["id"]).json()["content"]["video_url"]).status_code == 403


def test_resign_urls_renews_them_on_every_get(clocked: tuple[SimulatorServer, list[float]]) -> None:
    sim, now = clocked
    sim.backend.config.resign_urls = True
    task = finish(sim, now)
    url = task["content"]["video_url"]
    now[0] += 60
    renewed = get(sim, task["id"]).json()["content"]["video_url"]
    assert renewed != url and renewed.startswith(f"{sim.root_url}/files/")
    now[0] += 60
    assert httpx.get(url).status_code == 403
    assert httpx.get(renewed).status_code == 200


# --- lost create answers -----------------------------------------------------------------------------------------


def outcome(response: httpx.Response | Exception) -> str:
    if isinstance(response, Exception):
        return "drop"
    return str(response.status_code)


def create_or_drop(sim: SimulatorServer) -> httpx.Response | Exception:
    try:
        return create(sim)
    except httpx.RemoteProtocolError as exc:  # the dropped connection
        return exc


@pytest.mark.long  # 6-10 s: in make test-matrix, which CI runs after make test
def test_lost_creates_answer_an_error_yet_the_task_exists_and_runs(sim: SimulatorServer) -> None:
    configure(sim, lost_creates=1.0, fault_seed=11, read_after_write_seconds=0.0, list_lag_seconds=0.0)
    answers = [create_or_drop(sim) for _ in range(8)]
    kinds = [outcome(a) for a in answers]
    assert set(kinds) <= {"500", "502", "503", "drop"} and len(set(kinds)) > 1, kinds
    for answer in answers:
        if isinstance(answer, httpx.Response) and answer.status_code == 502:
            assert answer.headers["content-type"].startswith("text/plain")  # the gateway's page, not JSON
    assert counter(sim, "lost_creates") == counter(sim, "tasks_created") == 8
    page = listed(sim)
    assert page["total"] == 8
    assert all(finished(sim, t["id"])["status"] == "succeeded" for t in page["items"])
    sim.reset()  # re-seeds: the same seed gives the same answers
    configure(sim, lost_creates=1.0, fault_seed=11)
    assert [outcome(create_or_drop(sim)) for _ in range(8)] == kinds


def test_without_lost_creates_every_create_answers(sim: SimulatorServer) -> None:
    configure(sim, lost_creates=0.0, fault_seed=11)
    assert [create(sim).status_code for _ in range(5)] == [200] * 5
    assert counter(sim, "lost_creates") == 0


def test_a_fraction_of_creates_is_lost(sim: SimulatorServer) -> None:
    configure(sim, lost_creates=0.5, fault_seed=3)
    kinds = [outcome(create_or_drop(sim)) for _ in range(40)]
    assert 8 <= sum(k != "200" for k in kinds) <= 32
    assert counter(sim, "tasks_created") == 40


# --- bursts ------------------------------------------------------------------------------------------------------


def answers(sim: SimulatorServer, count: int) -> list[tuple[int, str | None]]:
    """Status and Retry-After of `count` GETs of an unknown task (a cheap request: 404 when no burst)."""
    result = []
    for _ in range(count):
        response = get(sim, "cgt-20260101000000-zzzzz")
        result.append((response.status_code, response.headers.get("retry-after")))
    return result


def bursts_in(seen: list[tuple[int, str | None]], length: int, normal: int = 404) -> int:
    """Walk the answers: each burst is `length` answers of one kind; return how many bursts there were."""
    index, found = 0, 0
    while index < len(seen):
        if seen[index][0] == normal:
            index += 1
            continue
        burst = seen[index: index + length]
        assert len(set(burst)) == 1, f"a burst keeps one kind: {burst}"
        index, found = index + length, found + 1
    return found


@pytest.mark.long  # 12-19 s: in make test-matrix, which CI runs after make test
def test_bursts_are_deterministic_for_a_seed_and_of_the_stated_kinds_and_length(sim: SimulatorServer) -> None:
    configure(sim, bursts=0.15, burst_length=3, fault_seed=42)
    seen = answers(sim, 60)
    kinds = {a for a in seen if a[0] != 404}
    assert kinds <= BURST_KINDS and len(kinds) > 1, seen
    found = bursts_in(seen[:57], 3)  # the last burst may run past the end
    assert found >= 2
    assert counter(sim, "bursts") >= found
    assert counter(sim, "burst_responses") == sum(a[0] != 404 for a in seen)
    sim.reset()
    configure(sim, bursts=0.15, burst_length=3, fault_seed=42)
    assert answers(sim, 60) == seen
    configure(sim, fault_seed=43)
    assert answers(sim, 60) != seen


def test_a_burst_answers_whatever_endpoint_the_next_requests_hit_and_creates_nothing(sim: SimulatorServer) -> None:
    configure(sim, bursts=1.0, burst_length=4, fault_seed=1)
    statuses = [create(sim).status_code, httpx.get(sim.base_url + TASKS, headers=AUTH).status_code,
                get(sim, "cgt-20260101000000-zzzzz").status_code,
                httpx.delete(f"{sim.base_url}{TASKS}/cgt-20260101000000-zzzzz", headers=AUTH).status_code]
    assert len(set(statuses)) == 1 and statuses[0] in {429, 502, 503}
    assert counter(sim, "tasks_created") == 0
    assert (counter(sim, "bursts"), counter(sim, "burst_responses")) == (1, 4)


@pytest.mark.long  # 5-15 s: in make test-matrix, which CI runs; keeps make test under ten minutes
def test_downloads_see_only_502_and_503_bursts(sim: SimulatorServer) -> None:
    configure(sim, read_after_write_seconds=0.0)
    url = finished(sim, create(sim).json()["id"])["content"]["video_url"]
    configure(sim, bursts=1.0, burst_length=2, fault_seed=5)
    statuses = [httpx.get(url).status_code for _ in range(20)]
    assert set(statuses) <= {502, 503} and len(set(statuses)) == 2, statuses
    configure(sim, bursts=0.0)
    assert httpx.get(url).status_code == 200


def test_without_bursts_nothing_bursts(sim: SimulatorServer) -> None:
    configure(sim, bursts=0.0, fault_seed=42)
    assert {a[0] for a in answers(sim, 30)} == {404}
    assert counter(sim, "burst_responses") == 0


# --- the rest ----------------------------------------------------------------------------------------------------


def test_an_armed_502_is_the_gateways_plain_text_page(sim: SimulatorServer) -> None:
    sim.arm(CallFault(endpoint="list", kind="502"))
    response = httpx.get(sim.base_url + TASKS, headers=AUTH)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/plain") and "upstream" in response.text
    assert httpx.get(sim.base_url + TASKS, headers=AUTH).status_code == 200


def test_the_defaults_are_the_hostile_choices_where_the_docs_are_silent() -> None:
    config = SimConfig()
    assert (config.list_lag_seconds, config.read_after_write_seconds) == (10.0, 5.0)
    assert (config.echo_seed, config.resign_urls, config.annotate, config.store_dir) == (False, False, False, None)
    assert (config.lost_creates, config.bursts, config.burst_length, config.fault_seed) == (0.0, 0.0, 3, None)
    for name, field in SimConfig.model_fields.items():
        assert field.description or name in {"run_seconds", "render_workers"}, name


def test_the_hostile_preset_turns_everything_on_and_takes_overrides() -> None:
    hostile = SimConfig.hostile(speed=100.0, fault_seed=7)
    assert (hostile.lost_creates, hostile.bursts) == (0.25, 0.05)
    assert (hostile.list_lag_seconds, hostile.read_after_write_seconds) == (10.0, 5.0)
    assert (hostile.echo_seed, hostile.resign_urls, hostile.annotate) == (False, False, False)
    assert (hostile.speed, hostile.fault_seed) == (100.0, 7)
    assert SimConfig.hostile(bursts=0.0).bursts == 0.0


def test_the_hostile_preset_loses_creates_on_a_server() -> None:
    config = SimConfig.hostile(speed=1000.0, queue_seconds=0.0, list_qps=None, fault_seed=7, bursts=0.0)
    with SimulatorServer(config) as sim:
        kinds = [outcome(create_or_drop(sim)) for _ in range(16)]
        assert 0 < sum(k != "200" for k in kinds) < 16
        assert counter(sim, "tasks_created") == 16


def test_annotate_setting_reaches_the_renderer(sim: SimulatorServer) -> None:
    configure(sim, speed=1.0, queue_seconds=1000.0)
    task = sim.backend.tasks[create(sim).json()["id"]]
    assert sim.backend._job(task).annotate is False
    configure(sim, annotate=True)
    assert sim.backend._job(task).annotate is True
