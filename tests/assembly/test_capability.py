"""The ffmpeg policy and capability check: which binary is used, how its listings are read (on the real output of
both supported builds, kept in ffmpeg_listings/), what it must have, and the one line that refuses it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from orchestrator.assembly import capability
from orchestrator.assembly.capability import REQUIRED, assess, ffmpeg_report, parse_listing, parse_version
from orchestrator.assembly.errors import FfmpegUnsuitable
from orchestrator.binaries import FfmpegChoice, bundled_ffmpeg, ffmpeg_binary, ffmpeg_choice
from orchestrator.errors import OrchestratorError
from orchestrator.simulator.render import RenderJob, ffmpeg_argv
from tests.assembly.conftest import logging_alias
from tests.assembly.filtergraph import assembly_argvs

LISTINGS = Path(__file__).parent / "ffmpeg_listings"
BUILDS = {"n9.0.2": (9, 0), "5.1.9-debian12": (5, 1)}
USER = FfmpegChoice("/opt/ffmpeg/bin/ffmpeg", "ORCHESTRATOR_FFMPEG", "/opt/ffmpeg/bin/ffmpeg")


def answers(build: str) -> dict[str, str]:
    """A build's real `-version` and listings, as `capability._ask` collects them."""
    return {path.stem: path.read_text(encoding="utf-8") for path in (LISTINGS / build).glob("*.txt")}


# --- which binary ------------------------------------------------------------------------------------------------


def test_the_bundled_build_is_used_even_with_an_ffmpeg_first_on_path(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    logging_alias(tmp_path / "ffmpeg", "/bin/false")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv("ORCHESTRATOR_FFMPEG", raising=False)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "ffmpeg"))  # imageio's own override is not ours either
    choice = ffmpeg_choice()
    assert choice == FfmpegChoice(bundled_ffmpeg(), "bundled") and Path(choice.path).is_file()
    assert "imageio_ffmpeg" in choice.path


def test_orchestrator_ffmpeg_chooses_a_path_or_a_name_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = logging_alias(tmp_path / "ffmpeg", bundled_ffmpeg())
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", "ffmpeg")  # PATH, by explicit choice
    assert ffmpeg_choice() == FfmpegChoice(str(fake), "ORCHESTRATOR_FFMPEG", "ffmpeg")
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(fake))
    assert ffmpeg_binary() == str(fake)
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", "no-such-ffmpeg")
    report = ffmpeg_report()
    assert not report.ok and "'no-such-ffmpeg' is not on PATH" in report.line()
    assert report.line().endswith("unset ORCHESTRATOR_FFMPEG to use the bundled build")


# --- reading the listings of both builds -------------------------------------------------------------------------


@pytest.mark.parametrize("build", list(BUILDS))
def test_both_builds_listings_are_read_whole(build: str) -> None:
    found = {kind: parse_listing(kind, text) for kind, text in answers(build).items() if kind != "version"}
    assert len(found["filters"]) > 400 and len(found["encoders"]) > 150 and len(found["decoders"]) > 400
    assert len(found["muxers"]) > 150 and len(found["demuxers"]) > 300
    for kind, names in REQUIRED.items():
        assert set(names) <= found[kind], kind
    assert {"mp4", "m4a", "3gp"} <= found["demuxers"]  # one line, several formats
    assert "lavfi" in found["demuxers"] and "lavfi" not in found["muxers"]  # a device line (n9: "D d lavfi")
    assert "hevc" in found["decoders"] and "h264" not in found["encoders"]  # libx264 is the encoder's name
    legend = {"Timeline", "Slice", "Command", "Audio", "Video", "Dynamic", "Source", "=", "------", "Demuxing"}
    assert not legend & set().union(*found.values())


@pytest.mark.parametrize(("build", "version"), list(BUILDS.items()))
def test_both_supported_builds_pass(build: str, version: tuple[int, int]) -> None:
    report = assess(USER, answers(build))
    assert report.ok and report.missing == ()
    assert parse_version(report.banner) == version and report.banner.startswith("ffmpeg version ")
    assert report.version in report.line() and "has every filter" in report.line()


@pytest.mark.parametrize("build", list(BUILDS))
def test_a_build_without_xfade_is_refused_in_one_line_naming_it(build: str) -> None:
    given = answers(build)
    given["filters"] = "\n".join(line for line in given["filters"].splitlines() if " xfade " not in line)
    report = assess(USER, given)
    assert report.missing == ("filter xfade",)
    line = report.line()
    assert "\n" not in line and line.startswith(f"ffmpeg {USER.path} (ORCHESTRATOR_FFMPEG, version {report.version})")
    assert "missing filter xfade; unset ORCHESTRATOR_FFMPEG to use the bundled build" in line


def test_an_old_or_bare_build_is_told_everything_it_lacks() -> None:
    old = answers("5.1.9-debian12")
    old["version"] = old["version"].replace("5.1.9-0+deb12u1", "4.4.2-0ubuntu0.22.04.1")
    assert assess(USER, old).missing == ("version 5.1 or later",)
    bare = {"version": "ffmpeg version N-118000-gdeadbeef Copyright (c) 2000-2026 the FFmpeg developers\n",
            "encoders": answers("n9.0.2")["encoders"].replace(" libx264 ", " libx264rgb "),
            "filters": "", "decoders": "", "muxers": "", "demuxers": ""}
    report = assess(FfmpegChoice(bundled_ffmpeg(), "bundled"), bare)
    assert report.version == "N-118000-gdeadbeef" and parse_version(report.banner) is None  # a git snapshot
    assert "encoder libx264" in report.missing and "filter xfade" in report.missing
    assert "version 5.1 or later" not in report.missing  # unknown, not old: the listings decide
    assert "reinstall the imageio-ffmpeg wheel" in report.line()


def test_unsuitable_ffmpeg_exits_2() -> None:
    assert issubclass(FfmpegUnsuitable, OrchestratorError) and FfmpegUnsuitable.exit_code == 2


# --- the table covers every command line ------------------------------------------------------------------------


def _every_argv(tmp: Path) -> list[list[str]]:
    job = RenderJob(320, 180, 49, "p", 1, None, None, generate_audio=True)
    return [*assembly_argvs(tmp).values(), ffmpeg_argv(job, tmp / "v.mp4")[1:]]


def _used(argvs: list[list[str]]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {kind: set() for kind in REQUIRED}
    for argv in argvs:
        for i, arg in enumerate(argv[:-1]):
            value = argv[i + 1]
            if arg in ("-filter_complex", "-vf", "-af") or (arg == "-i" and argv[i - 2:i] == ["-f", "lavfi"]):
                for step in re.split(r"[;,]", value):
                    name = re.sub(r"(\[[^\]]*\])+$", "", re.sub(r"^(\[[^\]]*\])+", "", step)).split("=")[0]
                    if re.fullmatch(r"[a-z0-9_]+", name) and not re.fullmatch(r"\d+", name):
                        used["filters"].add(name)
            elif arg in ("-c:v", "-c:a", "-c") and value != "copy":
                used["encoders"].add(value)
            elif arg == "-f":
                used["demuxers" if "-i" in argv[i + 2:i + 6] else "muxers"].add(value)  # input options, -i
    return used


def test_the_required_table_names_everything_the_command_lines_use(tmp_path: Path) -> None:
    used = _used(_every_argv(tmp_path))
    assert used["filters"] >= {"xfade", "acrossfade", "tpad", "ebur128", "loudnorm", "aevalsrc", "setparams"}
    for kind in ("filters", "encoders", "muxers", "demuxers"):
        assert used[kind] <= set(REQUIRED[kind]), (kind, sorted(used[kind] - set(REQUIRED[kind])))
    assert used["filters"] == set(REQUIRED["filters"])  # nor does the table ask for a filter nothing uses
    # decoders are not named on command lines: those of the formats we read and write
    assert {"h264", "aac", "pcm_s16le", "rawvideo"} == set(REQUIRED["decoders"])


# --- the live check ----------------------------------------------------------------------------------------------


def test_the_binary_is_asked_once_per_path_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = logging_alias(tmp_path / "ffmpeg", ffmpeg_binary())
    log = tmp_path / "ffmpeg.log"
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(fake))
    start = time.monotonic()
    first = ffmpeg_report()
    assert first.ok and first.source == "ORCHESTRATOR_FFMPEG" and first.path == str(fake)
    assert time.monotonic() - start < 10
    asked = log.read_text().splitlines()
    assert sorted(line.split()[-1] for line in asked) == sorted(f"-{q}" for q in ["version", *REQUIRED])
    assert ffmpeg_report() == first and len(log.read_text().splitlines()) == len(asked)  # cached
    fake.write_text(fake.read_text() + "\n")  # a changed binary (new mtime and size) is asked again
    assert ffmpeg_report().ok and len(log.read_text().splitlines()) == 2 * len(asked)


def test_require_refuses_with_the_reports_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = logging_alias(tmp_path / "ffmpeg", bundled_ffmpeg(), hide="xfade")
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(fake))
    with pytest.raises(FfmpegUnsuitable) as refused:
        capability.require_ffmpeg()
    assert str(refused.value) == ffmpeg_report().line()
    assert "missing filter xfade" in str(refused.value) and str(fake) in str(refused.value)
