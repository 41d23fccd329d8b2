"""Several outputs sharing shots: one normalisation per clip, one film per output, one report and one contact
sheet covering every seam."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from PIL import Image

from orchestrator.assembly import qc
from orchestrator.assembly.films import assemble_films
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip
from tests.assembly.conftest import Launches, make_clip


def test_two_endings_share_the_opening(tmp_path: Path) -> None:
    opening = make_clip(tmp_path / "open.mp4", frames=49, tone=300)
    cup = make_clip(tmp_path / "cup.mp4", frames=49, tone=500)
    logo = make_clip(tmp_path / "logo.mp4", frames=49, tone=700)
    outputs = {
        "main": [OutputClip("open", opening, False), OutputClip("cup", cup, True)],
        "alt": [OutputClip("open", opening, False), OutputClip("logo", logo, False)],
    }
    result = asyncio.run(assemble_films(outputs, tmp_path / "run", tmp_path / "cache",
                                        AssemblySettings(transition="crossfade", crossfade_seconds=0.5)))
    assert result.films["main"].film.frames == 97  # chained: one frame dropped, never crossfaded
    assert result.films["alt"].film.frames == 98 - 12  # a cut join: crossfaded
    assert result.films["main"].seams == (49,) and result.films["alt"].seams == (43,)
    # The opening was normalised once: by whichever film came to it first, the other reused it.
    assert sorted(result.films[name].parts[0].reused for name in ("main", "alt")) == [False, True]
    assert not result.films["main"].parts[1].reused and not result.films["alt"].parts[1].reused
    report = json.loads(result.report.read_text(encoding="utf-8"))
    assert [o["name"] for o in report["outputs"]] == ["main", "alt"]
    assert [len(o["joins"]) for o in report["outputs"]] == [1, 1]
    assert report["outputs"][0]["joins"][0]["chained"] is True
    # QC names each join for what it is: the crossfaded one is not called a cut anywhere.
    assert [o["joins"][0]["transition"] for o in report["outputs"]] == ["chained", "crossfade"]
    assert [[t["kind"] for t in o["edit"]["transitions"]] for o in report["outputs"]] == [["chained"], ["crossfade"]]
    assert report["outputs"][1]["edit"]["transitions"][0]["frames"] == 12
    assert [(c["source_in"], c["source_out"]) for c in report["outputs"][0]["edit"]["clips"]] == [(0, 49), (1, 49)]
    assert all((tmp_path / "run" / "outputs" / f"{name}.mp4").is_file() for name in ("main", "alt"))
    sheet = Image.open(result.contact_sheet).convert("RGB")
    assert sheet.height > 2 * 100
    colours = {colour for _, colour in sheet.getcolors(maxcolors=1 << 20) or []}
    assert {(0x7F, 0xD4, 0x8A), (0xE0, 0xB4, 0x5C)} <= colours  # the chained label's green, the crossfade's amber
    assert (0x8A, 0xB4, 0xF8) not in colours  # and no label in a cut's blue


def test_loudness_is_measured_once_per_film(tmp_path: Path, launches: Launches) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=48, tone=300 + 200 * i) for i in range(2)]
    outputs = {"main": [OutputClip("a", clips[0], False), OutputClip("b", clips[1], False)]}
    result = asyncio.run(assemble_films(outputs, tmp_path / "run", tmp_path / "cache",
                                        AssemblySettings(loudness_lufs=-16.0)))
    assert len(launches.using("ebur128")) == 2  # the measuring pass and the check afterwards; QC takes its figure
    lufs = result.qc[0].integrated_lufs
    assert lufs is not None and abs(lufs + 16.0) <= 1.0
    assert result.films["main"].loudness == qc.Loudness(lufs)


def test_qc_measures_loudness_when_nobody_has(tmp_path: Path, launches: Launches) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=48)
    outputs = {"main": [OutputClip("a", clip, False)]}
    result = asyncio.run(assemble_films(outputs, tmp_path / "run", tmp_path / "cache",
                                        AssemblySettings(loudness_lufs=None)))
    assert len(launches.using("ebur128")) == 1
    assert result.films["main"].loudness is None and result.qc[0].integrated_lufs is not None
