"""`orchestrator export` end to end: a real run on the simulator (a chained join, an odd crossfade, a cut, a
soundtrack, and a trimmed cut-down whose trim starts inside a crossfade), exported in every format with no key and
no provider request, and read back through OpenTimelineIO's adapters: the same clips, cuts and frames as the films,
and the journal's facts on every clip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]
import pytest

from orchestrator.binaries import bundled_ffmpeg
from orchestrator.models import frames_for
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import CliResult, run_cli
from tests.e2e.conftest import API_KEY, probe_film, requests_made, run, takes
from tests.e2e.test_faults import write_storyboard
from tests.export.test_timeline import cuts as seen
from tests.export.test_timeline import dissolves, ranges

CLIP = frames_for(2)  # the 2 s shots of write_storyboard: 49 frames
FADE = 25  # frames of a 1.04 s crossfade (round(1.04 * 24)): odd, so its dissolve splits 12 | 13 around the cut
FORMATS = {"otio": "otio_json", "fcpxml": "fcpx_xml", "xml": "fcp_xml", "edl": "cmx_3600"}
# pick -> shake is a chain edge; every other join would crossfade, but pour, between two crossfades, is too short
# for both (2 * 25 + 1 > 49 frames), so pour -> cup is cut: the film has a chained join, two crossfades and a cut.
SHOTS = [{"id": "pick"}, {"id": "shake", "after": "pick"}, {"id": "pour"}, {"id": "cup"}, {"id": "hero"}]
# The cut-down keeps seconds 1.5-3.5 (frames 36-83) of pour -> cup -> hero: it starts inside the pour -> cup
# crossfade (frames 24-48 of that film), which becomes a cut.
OUTPUTS: dict[str, Any] = {"main": ["pick", "shake", "pour", "cup", "hero"],
                           "cutdown": {"shots": ["pour", "cup", "hero"], "trim": {"start": 1.5, "end": 3.5}}}
ASSEMBLY = {"transition": "crossfade", "crossfade_seconds": 1.04, "audio": "soundtrack", "soundtrack": "music.wav",
            "loudness_lufs": None}
# (name, first source frame, source frames, record in, record out) of main's clips, worked out by hand: shake
# starts on its second frame (its first repeats pick's last); pour's first frame is film frame 49 + 48 - 25 = 72,
# so the 25-frame crossfade covers film frames 72-96 and its cut is 12 frames in, at 84: shake's range ends 13
# frames before its last frame, pour's starts 12 frames after its first. Likewise hero's, at 145 + 12 = 157.
MAIN = [("pick take 1", 0, 49, 0, 49), ("shake take 1", 1, 35, 49, 84), ("pour take 1", 12, 37, 84, 121),
        ("cup take 1", 0, 36, 121, 157), ("hero take 1", 12, 37, 157, 194)]
# The cut-down: pour (film frames 0-48), cup (24-72, after the crossfade whose cut is at 36), hero (73-121, a cut):
# the trim [36, 84) starts on that cut, so pour shows nothing of its own, and cup starts 12 frames in.
CUTDOWN = [("cup take 1", 12, 37, 0, 37), ("hero take 1", 0, 11, 37, 48)]


@dataclass(frozen=True)
class Exported:
    """One run of the storyboard, exported in every format with the provider's key unset."""

    folder: Path
    storyboard: Path
    run_dir: Path
    results: dict[str, CliResult]
    requests: int  # made to the simulator while exporting


def export(*args: str | Path) -> CliResult:
    return run_cli("export", *args)


@pytest.fixture(scope="module")
def exported(sim_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The run, made once, and its four exports."""
    folder = tmp_path_factory.mktemp("export")
    subprocess.run([bundled_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:"
                    "duration=30", str(folder / "music.wav")], check=True)
    storyboard = write_storyboard(folder, SHOTS, name="ad", outputs=OUTPUTS, assembly=ASSEMBLY)
    out = folder / "runs"
    sim_server.reset()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARK_API_KEY", API_KEY)
        env.setenv("ARK_BASE_URL", sim_server.base_url)
        env.setenv("ORCHESTRATOR_POLL_SCALE", "0.002")
        made = run(storyboard, out)
        assert made.code == 0, made.stderr
        before = sum(requests_made(sim_server).values())
        env.delenv("ARK_API_KEY")  # an export needs no key
        results = {fmt: export(storyboard, "--out", out, "--format", fmt) for fmt in FORMATS}
        requests = sum(requests_made(sim_server).values()) - before
    return Exported(folder, storyboard, out / "ad", results, requests)


def read(path: Path, fmt: str) -> Any:
    found = otio.adapters.read_from_file(str(path), adapter_name=FORMATS[fmt])
    return found[0] if isinstance(found, otio.schema.SerializableCollection) else found


def track(timeline: Any, kind: str = otio.schema.TrackKind.Video) -> Any:
    (found,) = [t for t in timeline.tracks if t.kind == kind]
    return found


def exported_file(run_dir: Path, output: str, fmt: str) -> Path:
    return run_dir / "export" / f"{output}.{fmt}"


# -- the run's exports ---------------------------------------------------------------------------------------------


def test_every_format_is_written_per_output_with_no_key_and_no_request(exported: Exported) -> None:
    for fmt, result in exported.results.items():
        assert result.code == 0, result.stderr
        assert result.stdout.splitlines() == [f"{fmt} {name}: {exported_file(exported.run_dir, name, fmt)}"
                                              for name in ("main", "cutdown")]
        assert result.stderr == ""
    assert exported.requests == 0


def test_the_report_records_the_edit_the_timelines_are_made_from(exported: Exported) -> None:
    report = json.loads((exported.run_dir / "report.json").read_text(encoding="utf-8"))
    edits = {o["name"]: o["edit"] for o in report["outputs"]}
    main = edits["main"]
    assert [(c["shot"], c["source_in"], c["source_out"]) for c in main["clips"]] == [
        ("pick", 0, 49), ("shake", 1, 49), ("pour", 0, 49), ("cup", 0, 49), ("hero", 0, 49)]
    assert main["transitions"] == [{"kind": "chained", "frames": 0}, {"kind": "crossfade", "frames": FADE},
                                   {"kind": "cut", "frames": 0}, {"kind": "crossfade", "frames": FADE}]
    assert (main["frames"], main["trim"]) == (5 * CLIP - 1 - 2 * FADE, [0, 194])
    assert (edits["cutdown"]["frames"], edits["cutdown"]["trim"]) == (3 * CLIP - FADE, [36, 84])


def test_the_otio_round_trip_has_the_films_cuts_frames_and_facts(exported: Exported) -> None:
    main = read(exported_file(exported.run_dir, "main", "otio"), "otio")
    assert ranges(main) == MAIN
    assert dissolves(main) == [(12, 13), (12, 13)]
    assert all(t.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve for t in track(main)
               if isinstance(t, otio.schema.Transition))
    for name, frames in (("main", 194), ("cutdown", 48)):
        timeline = read(exported_file(exported.run_dir, name, "otio"), "otio")
        film = probe_film(exported.run_dir / "outputs" / f"{name}.mp4").frames
        assert track(timeline).duration().value == timeline.duration().value == film == frames
        assert timeline.duration().rate == 24
        music = list(track(timeline, otio.schema.TrackKind.Audio))
        assert [(c.media_reference.target_url, c.source_range.start_time.value, c.source_range.duration.value)
                for c in music] == [((exported.folder / "music.wav").resolve().as_uri(), 0, frames)]
    cutdown = read(exported_file(exported.run_dir, "cutdown", "otio"), "otio")
    assert ranges(cutdown) == CUTDOWN
    assert dissolves(cutdown) == []  # the trim starts inside pour -> cup's crossfade: a cut, and it says so
    (note,) = cutdown.metadata["orchestrator"]["notes"]
    assert "25-frame crossfade pour -> cup" in note
    own = main.metadata["orchestrator"]
    assert (own["storyboard"], own["output"], own["delivered_fps"], list(own["size"]), own["audio"]) == (
        "ad", "main", 24, [864, 480], "soundtrack")


def test_every_clip_carries_its_take_as_the_journal_has_it(exported: Exported) -> None:
    main = read(exported_file(exported.run_dir, "main", "otio"), "otio")
    rows = {(r["shot"], str(r["key"])[:12]): r for r in takes(exported.run_dir) if r["state"] == "downloaded"}
    clips = [c for c in track(main) if isinstance(c, otio.schema.Clip)]
    assert len(clips) == len(rows) == 5
    for clip in clips:
        facts = clip.metadata["orchestrator"]
        path = Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
        assert path == Path(facts["clip"]) and path.is_file()
        row = rows[(facts["shot"], path.parent.name)]
        params = json.loads(row["params"])
        assert (facts["take"], facts["seed"], facts["task_id"], facts["model"], facts["cost"], facts["currency"],
                facts["prompt"]) == (1, row["seed"], row["task_id"], params["model"], row["usd"], "USD",
                                     params["prompt"])
        assert facts["name"] == clip.name == f"{facts['shot']} take 1"
        assert clip.media_reference.available_range.duration.value == CLIP  # the whole file: the handles


@pytest.mark.parametrize("fmt", ["fcpxml", "xml", "edl"])
def test_fcpxml_fcp7_xml_and_edl_read_back_with_the_same_cuts(exported: Exported, fmt: str) -> None:
    for name in ("main", "cutdown"):
        reference = read(exported_file(exported.run_dir, name, "otio"), "otio")
        back = read(exported_file(exported.run_dir, name, fmt), fmt)
        assert [r[0] for r in ranges(back)] == [r[0] for r in ranges(reference)]  # the same clips, in order
        assert track(back).duration().value == track(reference).duration().value
        if fmt == "edl":
            # CMX 3600 starts a dissolve's event where the dissolve starts: read back, each dissolve lies all
            # after its cut (in 0, out 25), so the clip after it starts 12 frames earlier; what is seen where,
            # and the dissolves' lengths, are the same.
            assert seen(back) == seen(reference)
            assert [a + b for a, b in dissolves(back)] == [a + b for a, b in dissolves(reference)]
        else:
            assert ranges(back) == ranges(reference)  # every source range, record in and record out
            assert track(back, otio.schema.TrackKind.Audio).duration() == track(reference).duration()
    main = read(exported_file(exported.run_dir, "main", fmt), fmt)
    pour = [c for c in track(main) if isinstance(c, otio.schema.Clip)][2]
    # What of each clip's facts the format keeps, as its adapter reads it back.
    if fmt == "fcpxml":
        assert dissolves(main) == []  # the adapter reads no transitions; the file has them (next test)
        assert re.fullmatch(r"pour take 1; seed \d+; model seedance-1-0-pro-250528; task cgt-[\w-]+; cost [\d.]+ "
                            r"USD\. Prompt: Shot pour: a red apple .*", pour.media_reference.metadata["fcpx"]["note"])
    elif fmt == "xml":
        assert dissolves(main) == [(12, 13), (12, 13)]
        logging = pour.metadata["fcp_xml"]["logginginfo"]
        assert (logging["scene"], logging["shottake"]) == ("pour", "1")
        assert logging["description"].startswith("Shot pour: a red apple")
    else:
        assert pour.name == "pour take 1"
        assert any(c.startswith("ORCHESTRATOR: pour take 1; seed ") for c in pour.metadata["cmx_3600"]["comments"])


# The content rules of the FCPXML 1.8 DTD for the elements an export holds (transcribed, since Apple's DTD file is
# not here): the children each may have, and the attributes it must.
ANCHORS = {"audio", "video", "clip", "title", "caption", "mc-clip", "ref-clip", "sync-clip", "asset-clip",
           "audition", "spine"}
MARKERS = {"marker", "chapter-marker", "rating", "keyword", "analysis-marker"}
CLIP_CHILDREN = {"note", "conform-rate", "timeMap", "adjust-crop", "adjust-corners", "adjust-conform",
                 "adjust-transform", "adjust-blend", "adjust-stabilization", "adjust-rollingShutter",
                 "adjust-volume", "adjust-panner", "gap", "audio-channel-source", "filter-video",
                 "filter-video-mask", "filter-audio", "metadata", *ANCHORS, *MARKERS}
FCPXML_RULES: dict[str, tuple[set[str], set[str]]] = {
    "fcpxml": ({"import-options", "resources", "library", "event", "clip", "audition", "mc-clip", "ref-clip",
                "sync-clip", "asset-clip", "project"}, {"version"}),
    "resources": ({"asset", "effect", "format", "media"}, set()),
    "format": (set(), {"id"}),
    "asset": ({"bookmark", "metadata"}, {"id", "src"}),
    "effect": (set(), {"id", "uid"}),
    "asset-clip": (CLIP_CHILDREN, {"ref", "duration"}),
    "note": (set(), set()),
    "project": ({"sequence"}, set()),
    "sequence": ({"note", "spine", "metadata"}, {"format"}),
    "spine": ({"audio", "video", "clip", "title", "mc-clip", "ref-clip", "sync-clip", "asset-clip", "audition",
               "gap", "transition"}, set()),
    "clip": (CLIP_CHILDREN, {"duration"}),
    "gap": ({"note", "spine", "audio", "video", "clip", "title", "caption", "mc-clip", "ref-clip", "sync-clip",
             "asset-clip", "audition", "metadata", *MARKERS}, {"duration"}),
    "video": ({"param", "conform-rate", "timeMap", "filter-video", "metadata", *ANCHORS, *MARKERS},
              {"ref", "duration"}),
    "audio": ({"conform-rate", "timeMap", "adjust-volume", "adjust-panner", "filter-audio", "metadata", *ANCHORS,
               *MARKERS}, {"ref", "duration"}),
    "transition": ({"filter-video", "filter-audio", "marker", "rating", "keyword", "metadata"}, {"duration"}),
    "filter-video": ({"param", "data"}, {"ref"}),
}
TIMES = ("offset", "start", "duration", "frameDuration")


def test_the_fcpxml_holds_to_the_dtd_and_keeps_its_dissolves(exported: Exported) -> None:
    text = exported_file(exported.run_dir, "main", "fcpxml").read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.8">')
    root = ElementTree.fromstring(text)
    ids = [e.get("id") for e in root.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids))
    for element in root.iter():
        children, required = FCPXML_RULES[element.tag]  # an element the rules do not know fails here
        assert {c.tag for c in element} <= children, element.tag
        assert required <= set(element.attrib), element.tag
        for attribute in ("ref", "format"):
            if element.get(attribute) is not None:
                assert element.get(attribute) in ids, (element.tag, attribute)
        for attribute in TIMES:  # every time is a whole number of 24 fps frames
            if element.get(attribute) is not None and element.tag != "format":
                value = Fraction(element.get(attribute, "").removesuffix("s")) * 24
                assert value.denominator == 1, (element.tag, attribute, element.get(attribute))
    (fmt,) = root.iter("format")
    assert (Fraction(fmt.get("frameDuration", "").removesuffix("s")), fmt.get("width"), fmt.get("height")) == (
        Fraction(1, 24), "864", "480")
    spine = root.find("./project/sequence/spine")
    assert spine is not None
    assert [e.tag for e in spine] == ["clip", "clip", "transition", "clip", "clip", "transition", "clip"]
    frames = [(int(Fraction(e.get("offset", "0s").removesuffix("s")) * 24),
               int(Fraction(e.get("duration", "0s").removesuffix("s")) * 24)) for e in spine]
    # Each dissolve spans the film's crossfade: from 12 frames before the cut (84, 157) for 25 frames, over the
    # clips either side, which stay where they were.
    assert frames == [(0, 49), (49, 35), (72, 25), (84, 37), (121, 36), (145, 25), (157, 37)]


def test_the_animatic_exports_its_cards(exported: Exported) -> None:
    made = run_cli("animatic", exported.storyboard, "--out", exported.run_dir.parent, "--output", "main")
    assert made.code == 0, made.stderr
    result = export(exported.run_dir, "--animatic", "--format", "otio", "--output", "main")
    assert result.code == 0, result.stderr
    path = exported.run_dir / "animatic" / "export" / "main.otio"
    assert result.stdout == f"otio main: {path}\n"
    timeline = read(path, "otio")
    # The same cuts as the film's (the animatic has its timing), with cards for clips.
    assert [(n.replace("animatic card", "take 1"), *rest) for n, *rest in ranges(timeline)] == MAIN
    clips = [c for c in track(timeline) if isinstance(c, otio.schema.Clip)]
    assert all(Path(c.metadata["orchestrator"]["clip"]).parent == exported.run_dir / "animatic" / "cards"
               for c in clips)
    facts = clips[2].metadata["orchestrator"]
    assert (facts["take"], facts["seed"], facts["task_id"], facts["prompt"]) == (
        "animatic card", None, None, "Shot pour: a red apple turns slowly on a wooden table")


# -- where the files go, and the errors ----------------------------------------------------------------------------


def test_to_names_the_file_of_one_output_or_the_folder_of_several(exported: Exported, tmp_path: Path) -> None:
    one = export(exported.run_dir, "--format", "edl", "--output", "cutdown", "--to", tmp_path / "cut.edl")
    assert (one.code, one.stdout) == (0, f"edl cutdown: {tmp_path / 'cut.edl'}\n"), one.stderr
    assert read(tmp_path / "cut.edl", "edl").duration().value == 48
    several = export(exported.run_dir, "--format", "xml", "--to", tmp_path / "xml")
    assert several.code == 0, several.stderr
    assert sorted(p.name for p in (tmp_path / "xml").iterdir()) == ["cutdown.xml", "main.xml"]
    refused = export(exported.run_dir, "--format", "xml", "--to", tmp_path / "cut.edl")
    assert refused.code == 2
    assert refused.stderr == (f"orchestrator: --to {tmp_path / 'cut.edl'}: a file, and 2 outputs need a folder: "
                              "give a folder, or one --output\n")


def test_export_before_any_run_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, SHOTS, name="ad", outputs=OUTPUTS,
                                  assembly={**ASSEMBLY, "audio": "clips", "soundtrack": None})
    out = tmp_path / "runs"
    for extra, message in (((), f"{out / 'ad' / 'report.json'}: no films yet: run it first (orchestrator run "
                                f"{storyboard})"),
                           (("--animatic",), f"{out / 'ad' / 'animatic' / 'report.json'}: no animatic yet: make the "
                                             f"animatic first (orchestrator animatic {storyboard})")):
        result = export(storyboard, "--out", out, "--format", "otio", *extra)
        assert (result.code, result.stdout) == (2, "")
        assert result.stderr == f"orchestrator: {message}\n"
    assert not out.exists()  # nothing was made on the way


def test_a_mistyped_output_is_refused_with_the_closest_name(exported: Exported) -> None:
    result = export(exported.storyboard, "--out", exported.run_dir.parent, "--format", "otio", "--output", "cutdwn")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (f"orchestrator: --output cutdwn: no such output in {exported.run_dir / 'report.json'} "
                             "(main, cutdown) (did you mean 'cutdown'?)\n")


def test_a_report_folder_is_read_as_it_is_and_a_missing_clip_named(exported: Exported, tmp_path: Path) -> None:
    # A copy of the report and its clips, with no run or journal around them: what only a journal knows is left out.
    report = json.loads((exported.run_dir / "report.json").read_text(encoding="utf-8"))
    report["outputs"] = [o for o in report["outputs"] if o["name"] == "main"]
    for entry in report["outputs"][0]["edit"]["clips"]:
        copy = tmp_path / "clips" / f"{entry['shot']}.mp4"
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(entry["clip"], copy)
        entry["clip"] = str(copy)
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    copied = export(tmp_path, "--format", "otio")
    assert (copied.code, copied.stdout) == (0, f"otio main: {tmp_path / 'export' / 'main.otio'}\n"), copied.stderr
    timeline = read(tmp_path / "export" / "main.otio", "otio")
    assert [r[1:] for r in ranges(timeline)] == [r[1:] for r in MAIN]
    clips = [c for c in track(timeline) if isinstance(c, otio.schema.Clip)]
    assert [c.name for c in clips] == ["pick", "shake", "pour", "cup", "hero"]
    assert {(c.metadata["orchestrator"]["take"], c.metadata["orchestrator"]["seed"]) for c in clips} == {(None, None)}

    gone = tmp_path / "clips" / "hero.mp4"
    gone.unlink()
    missing = export(tmp_path, "--format", "otio")
    assert (missing.code, missing.stdout) == (2, "")
    assert missing.stderr == (f"orchestrator: {gone}: the clip of hero (output main) is missing; make it again with "
                              "`orchestrator run FILE`\n")  # no journal here to say which storyboard made it
