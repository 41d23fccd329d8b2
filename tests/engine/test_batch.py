"""The batch's parts that need no provider: the rendezvous, the exit code, and what a batch refuses up front."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.engine.batch import BatchOutcome, check_batch, shared_endpoints, worst_exit
from orchestrator.engine.gate import Rendezvous
from orchestrator.errors import ConfigError
from orchestrator.profiles import Region, chosen_region
from orchestrator.storyboard.validate import CheckedStoryboard, check_file


def board(folder: Path, name: str, model: str = "dreamina-seedance-2-0-260128", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"version: 1\nname: {name}\ndefaults: {{model: {model}}}\n{extra}"
                    "shots:\n  - {id: one, prompt: 'a lamp'}\n", encoding="utf-8")
    return path


def test_the_rendezvous_lets_no_one_on_until_every_party_arrived_or_ended() -> None:
    async def main() -> list[str]:
        meeting = Rendezvous(3)
        passed: list[str] = []

        async def party(name: str) -> None:
            await meeting.meet(name)
            passed.append(name)

        first = [asyncio.create_task(party(n)) for n in ("a", "b")]
        for _ in range(5):
            await asyncio.sleep(0)
        assert passed == []
        meeting.arrive("a")  # arriving twice counts once
        for _ in range(5):
            await asyncio.sleep(0)
        assert passed == []
        meeting.arrive("c")  # c ended before meeting (a refused budget): the others go on
        await asyncio.wait_for(asyncio.gather(*first), 2)
        return sorted(passed)

    assert asyncio.run(main()) == ["a", "b"]


def test_the_batch_exit_code_is_the_worst_of_its_storyboards(tmp_path: Path) -> None:
    checked = check_file(board(tmp_path, "x"))
    outcomes = [BatchOutcome(checked, None, "over budget", 3), BatchOutcome(checked, None, "busy", 2)]
    assert worst_exit(outcomes) == 3
    assert worst_exit(outcomes[1:]) == 2
    assert worst_exit([]) == 0


def test_a_batch_is_one_account_one_region_and_one_name_per_run_directory(tmp_path: Path) -> None:
    byteplus = check_file(board(tmp_path / "b", "one"))
    volc = check_file(board(tmp_path / "v", "two", model="doubao-seedance-1-0-pro-250528"))
    twin = check_file(board(tmp_path / "t", "one"))

    with pytest.raises(ConfigError, match=r"different regions .*two\.yaml \(volcengine\)"):
        check_batch([byteplus, volc])
    with pytest.raises(ConfigError, match="are both named 'one'"):
        check_batch([byteplus, twin])
    check_batch([byteplus])


def test_endpoint_ids_are_merged_and_one_id_for_two_models_is_refused(tmp_path: Path) -> None:
    def with_endpoint(name: str, model: str) -> CheckedStoryboard:
        path = board(tmp_path, name, model="ep-20260101-abc", extra=f"endpoints: {{ep-20260101-abc: {model}}}\n")
        return check_file(path, region=chosen_region(Region.BYTEPLUS, None))

    first = with_endpoint("e1", "dreamina-seedance-2-0-260128")
    same = with_endpoint("e2", "dreamina-seedance-2-0-260128")
    other = with_endpoint("e3", "dreamina-seedance-2-0-fast-260128")

    assert shared_endpoints([first, same]) == {"ep-20260101-abc": "dreamina-seedance-2-0-260128"}
    with pytest.raises(ConfigError, match="endpoint ep-20260101-abc serves"):
        shared_endpoints([first, other])
