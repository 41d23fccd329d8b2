"""`orchestrator doctor`: one line per check, exit 0 when all pass and 1 when any fails, nothing spent. The provider
checks go through a real socket to a simulator started with a key of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import STORYBOARDS, CliResult, run_cli

KEY = "doctor-test-key"


@pytest.fixture
def keyed() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimConfig(speed=1000.0, api_key=KEY, list_qps=None)) as server:
        yield server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("ARK_API_KEY", "ARK_BASE_URL", "ORCHESTRATOR_REGION", "ORCHESTRATOR_PRICES", "ORCHESTRATOR_FFMPEG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORCHESTRATOR_OUT", str(tmp_path / "runs"))
    return monkeypatch


def lines(result: CliResult) -> dict[str, str]:
    """Check name -> its line, from doctor's output (every line is `ok|FAIL  name: detail`)."""
    found = {}
    for line in result.stdout.splitlines():
        status, rest = line.split(maxsplit=1)
        assert status in {"ok", "FAIL"}, line
        found[rest.split(":", 1)[0]] = line
    return found


def test_a_good_key_passes_every_check_with_one_list_call(clean_env: pytest.MonkeyPatch,
                                                          keyed: SimulatorServer) -> None:
    clean_env.setenv("ARK_API_KEY", KEY)
    clean_env.setenv("ARK_BASE_URL", keyed.base_url)
    result = run_cli("doctor")
    assert result.code == 0, result.stdout + result.stderr
    found = lines(result)
    assert set(found) == {"provider", "ffmpeg", "run folder", "prices"}
    assert found["provider"].startswith("ok    provider: BytePlus")
    assert "key accepted" in found["provider"]
    assert "bundled" in found["ffmpeg"] and "has every filter" in found["ffmpeg"]
    counters = keyed.backend.stats()["counters"]
    assert counters["requests.list"] == 1 and counters.get("requests.create", 0) == 0
    assert KEY not in result.stdout + result.stderr


def test_a_bad_key_is_named_with_its_401(clean_env: pytest.MonkeyPatch, keyed: SimulatorServer) -> None:
    clean_env.setenv("ARK_API_KEY", "not-the-key")
    clean_env.setenv("ARK_BASE_URL", keyed.base_url)
    result = run_cli("doctor")
    assert result.code == 1
    provider = lines(result)["provider"]
    assert provider.startswith("FAIL  provider:")
    assert "401" in provider and "AuthenticationError" in provider
    assert "not-the-key" not in result.stdout + result.stderr
    assert lines(result)["ffmpeg"].startswith("ok")  # the other checks still run and pass


def test_an_unreachable_base_url_fails_in_seconds(clean_env: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean_env.setenv("ARK_API_KEY", KEY)
    clean_env.setenv("ARK_BASE_URL", f"http://127.0.0.1:{port}/api/v3")
    began = time.monotonic()
    result = run_cli("doctor")
    assert time.monotonic() - began < 8
    assert result.code == 1
    provider = lines(result)["provider"]
    assert provider.startswith("FAIL  provider:") and f"127.0.0.1:{port}" in provider
    assert "connect" in provider.lower()


def test_the_real_backend_without_a_key_says_so(clean_env: pytest.MonkeyPatch) -> None:
    result = run_cli("doctor", "--backend", "ark")
    assert result.code == 1
    assert "ARK_API_KEY" in lines(result)["provider"]


def test_without_a_key_the_built_in_simulator_is_checked(clean_env: pytest.MonkeyPatch) -> None:
    result = run_cli("doctor")
    assert result.code == 0, result.stdout
    simulator = lines(result)["simulator"]
    assert simulator.startswith("ok    simulator: built-in, as BytePlus") and "simulated" in simulator


def test_the_region_and_currency_follow_the_setting(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ORCHESTRATOR_REGION", "volcengine")
    result = run_cli("doctor")
    assert result.code == 0, result.stdout
    assert "as Volcengine" in lines(result)["simulator"]
    assert "CNY" in lines(result)["prices"]


def test_a_read_only_run_folder_fails(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with read_only(tmp_path / "ro") as folder:
        result = run_cli("doctor", "--out", folder)
    assert result.code == 1
    line = lines(result)["run folder"]
    assert line.startswith(f"FAIL  run folder: {folder}: cannot write in {folder}")
    assert lines(result)["simulator"].startswith("ok")


def test_a_run_folder_yet_to_be_made_is_checked_where_it_will_be(clean_env: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    result = run_cli("doctor", "--out", tmp_path / "new" / "runs", STORYBOARDS / "tea-ad.yaml")
    assert result.code == 0, result.stdout
    folder = lines(result)["run folder"]
    assert f"(created on first run, in {tmp_path})" in folder and "the films need about" in folder
    assert lines(result)["storyboard"].startswith("ok    storyboard:")
    assert not (tmp_path / "new").exists()  # doctor writes nothing that stays


def test_a_bad_price_file_and_a_bad_ffmpeg_fail_by_name(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("no-such-model: 1.0\n", encoding="utf-8")
    clean_env.setenv("ORCHESTRATOR_PRICES", str(prices))
    clean_env.setenv("ORCHESTRATOR_FFMPEG", str(tmp_path / "no-ffmpeg"))
    result = run_cli("doctor")
    assert result.code == 1
    assert lines(result)["prices"].startswith(f"FAIL  prices: {prices}: no-such-model")
    ffmpeg = lines(result)["ffmpeg"]
    assert ffmpeg.startswith("FAIL  ffmpeg:") and "no-ffmpeg" in ffmpeg and "ORCHESTRATOR_FFMPEG" in ffmpeg


def test_an_invalid_storyboard_fails_with_its_first_error(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nshots:\n  - id: a\n    prompt: x\n    model: dreamina-seedance-2-0-260128\n"
                   "    duration: 20\n", encoding="utf-8")
    result = run_cli("doctor", bad)
    assert result.code == 1
    assert lines(result)["storyboard"] == (f"FAIL  storyboard: {bad}:6:15: shots[0].duration: 20 is not allowed "
                                           "for dreamina-seedance-2-0-260128 (4..15 or -1)")


class read_only:  # noqa: N801 - used as a context manager, like open()
    """A folder nobody may write in, root included (CI runs as root, for whom a mode of 0o555 changes nothing):
    a read-only tmpfs when root may mount, else the immutable attribute, else the mode bits."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.undo: list[str] = []

    def __enter__(self) -> Path:
        self.folder.mkdir(parents=True)
        if os.geteuid() != 0:
            self.folder.chmod(0o555)
        elif _ok("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(self.folder)):
            self.undo = ["umount", str(self.folder)]
        elif _ok("chattr", "+i", str(self.folder)):
            self.undo = ["chattr", "-i", str(self.folder)]
        probe = self.folder / "probe"
        try:
            probe.touch()
        except OSError:
            return self.folder
        probe.unlink()
        self.__exit__()
        pytest.fail("could not make a read-only folder here (root without mount or chattr)")

    def __exit__(self, *exc: object) -> None:
        if self.undo:
            subprocess.run(self.undo, check=True)
        self.folder.chmod(0o755)


def _ok(*argv: str) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False
