"""The timeline builder on hand-made edits: every frame the timeline shows (as OpenTimelineIO itself expands its
dissolves) is a frame the film shows at that place, the track lasts exactly the kept frames, and trims that cut
into a crossfade turn it into a cut. Then the report's edits as read, and the four formats written and read back
through their adapters."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.export.edits import Edit, EditClip, EditJoin, OutputEdit, read_report
from orchestrator.export.errors import ExportError
from orchestrator.export.formats import dressed, reel_name
from orchestrator.export.provenance import CARD, ClipFacts
from orchestrator.export.timeline import NAMESPACE, build, layout
from orchestrator.export.write import render

Frame = tuple[int, int]  # (the clip's entry in the edit, the frame of its file)


def edit_of(clips: list[tuple[str, int, int]], joins: list[tuple[str, int]], trim: tuple[int, int] | None = None,
            audio: str = "mute", soundtrack: Path | None = None) -> Edit:
    entries = tuple(EditClip(shot, Path(f"/media/{shot}/clip.mp4"), a, b) for shot, a, b in clips)
    links = tuple(EditJoin(kind, frames) for kind, frames in joins)
    frames = sum(c.frames for c in entries) - sum(j.fade for j in links)
    return Edit(frames, trim or (0, frames), entries, links, audio, soundtrack, (864, 480))


def output_of(edit: Edit) -> OutputEdit:
    return OutputEdit("main", Path("/media/main.mp4"), edit.trim[1] - edit.trim[0], 24, edit)


def facts_of(edit: Edit) -> dict[Path, ClipFacts]:
    return {c.path: ClipFacts(c.shot, i + 1, f"prompt of {c.shot}", seed=100 + i, model="seedance-1-0-pro-250528",
                              task_id=f"cgt-{i}", cost=0.25, currency="USD") for i, c in enumerate(edit.clips)}


def timeline_of(edit: Edit, soundtrack_frames: int | None = None) -> Any:
    lengths = {c.path: c.source_out for c in edit.clips}  # the files end where the edit stops using them
    return build(output_of(edit), facts_of(edit), lengths, "ad", soundtrack_frames)


def video(timeline: Any) -> Any:
    (track,) = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    return track


def film_frames(edit: Edit) -> list[set[Frame]]:
    """What the film shows at each frame of the edit: one clip's frame, or two blended in a crossfade."""
    shown: list[set[Frame]] = [set() for _ in range(edit.frames)]
    start = 0
    for i, clip in enumerate(edit.clips):
        for k in range(clip.frames):
            shown[start + k].add((i, clip.source_in + k))
        start += clip.frames - (edit.joins[i].fade if i < len(edit.joins) else 0)
    return shown


def timeline_frames(track: Any) -> list[set[Frame]]:
    """What the track shows at each of its frames, its dissolves expanded by OTIO's own algorithm."""
    def index(clip: Any) -> int:
        return int(clip.metadata[NAMESPACE]["edit_index"])

    shown: list[set[Frame]] = []
    for item in otio.algorithms.track_with_expanded_transitions(track):
        if isinstance(item, tuple):
            pre, _, post = item
            span = int(pre.source_range.duration.value)
            assert span == int(post.source_range.duration.value)
            shown += [{(index(pre), int(pre.source_range.start_time.value) + k),
                       (index(post), int(post.source_range.start_time.value) + k)} for k in range(span)]
        else:
            start = int(item.source_range.start_time.value)
            shown += [{(index(item), start + k)} for k in range(int(item.source_range.duration.value))]
    return shown


# -- the layout --------------------------------------------------------------------------------------------------

# pick, then shake chained to it, a cut to pour, a 7-frame crossfade (odd) to cup, a 12-frame one to hero.
CLIPS = [("pick", 0, 121), ("shake", 1, 121), ("pour", 0, 97), ("cup", 0, 121), ("hero", 0, 121)]
JOINS = [("chained", 0), ("cut", 0), ("crossfade", 7), ("crossfade", 12)]


def ranges(timeline: Any) -> list[tuple[str, int, int, int, int]]:
    """(name, source start, source frames, record in, record out) of each clip of the video track."""
    track = video(timeline)
    out = []
    for i, item in enumerate(track):
        if isinstance(item, otio.schema.Clip):
            record = track.range_of_child_at_index(i)
            out.append((item.name, int(item.source_range.start_time.value), int(item.source_range.duration.value),
                        int(record.start_time.value), int(record.end_time_exclusive().value)))
    return out


def dissolves(timeline: Any) -> list[tuple[int, int]]:
    return [(int(t.in_offset.value), int(t.out_offset.value)) for t in video(timeline)
            if isinstance(t, otio.schema.Transition)]


def test_crossfades_are_dissolves_centred_so_the_track_lasts_the_film() -> None:
    edit = edit_of(CLIPS, JOINS)
    assert edit.frames == 121 + 120 + 97 + 121 + 121 - 7 - 12 == 561
    timeline = timeline_of(edit)
    # pour's range ends out_offset (4) frames before its last frame in the film; cup's starts in_offset (3) frames
    # after its first, and so on: every range runs from the cut before it to the cut after it.
    assert ranges(timeline) == [("pick take 1", 0, 121, 0, 121), ("shake take 2", 1, 120, 121, 241),
                                ("pour take 3", 0, 93, 241, 334), ("cup take 4", 3, 112, 334, 446),
                                ("hero take 5", 6, 115, 446, 561)]
    assert dissolves(timeline) == [(3, 4), (6, 6)]
    assert video(timeline).duration().value == timeline.duration().value == 561
    assert timeline_frames(video(timeline)) == film_frames(edit)  # frame for frame, blends included
    (transition, _) = [t for t in video(timeline) if isinstance(t, otio.schema.Transition)]
    assert transition.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve


@pytest.mark.parametrize(("trim", "expected", "fades", "note"), [
    # Both crossfades inside the trim: kept; pick and hero shortened at the trim's edges.
    ((100, 500), [("pick take 1", 100, 21), ("shake take 2", 1, 120), ("pour take 3", 0, 93), ("cup take 4", 3, 112),
                  ("hero take 5", 6, 54)], [(3, 4), (6, 6)], None),
    # The trim starts on the first frame of the 7-frame crossfade (film frames 331-337): kept, and it starts the
    # timeline with pour's last 3 frames before the cut.
    ((331, 561), [("pour take 3", 90, 3), ("cup take 4", 3, 112), ("hero take 5", 6, 115)], [(3, 4), (6, 6)], None),
    # ... starts one frame in (or 2 more): the dissolve cannot start before the timeline, so it is a cut; pour keeps
    # its frames up to the cut point.
    ((332, 561), [("pour take 3", 91, 2), ("cup take 4", 3, 112), ("hero take 5", 6, 115)], [(6, 6)],
     "the trim [332, 561) cuts into the 7-frame crossfade pour -> cup (frames 331-337): a plain cut at frame 2 of "
     "the timeline instead"),
    ((335, 561), [("cup take 4", 4, 111), ("hero take 5", 6, 115)], [(6, 6)],
     "the trim [335, 561) cuts into the 7-frame crossfade pour -> cup (frames 331-337): the timeline starts on cup "
     "instead"),
    # The trim ends inside the 12-frame crossfade (film frames 440-451) before its cut (446): hero is gone.
    ((0, 445), [("pick take 1", 0, 121), ("shake take 2", 1, 120), ("pour take 3", 0, 93), ("cup take 4", 3, 111)],
     [(3, 4)], "the trim [0, 445) cuts into the 12-frame crossfade cup -> hero (frames 440-451): the timeline ends "
     "on cup instead"),
    # ... after its cut: hero keeps 2 frames, and the dissolve goes.
    ((0, 448), [("pick take 1", 0, 121), ("shake take 2", 1, 120), ("pour take 3", 0, 93), ("cup take 4", 3, 112),
                ("hero take 5", 6, 2)], [(3, 4)],
     "the trim [0, 448) cuts into the 12-frame crossfade cup -> hero (frames 440-451): a plain cut at frame 446 of "
     "the timeline instead"),
    # ... on its last frame: kept whole.
    ((0, 452), [("pick take 1", 0, 121), ("shake take 2", 1, 120), ("pour take 3", 0, 93), ("cup take 4", 3, 112),
                ("hero take 5", 6, 6)], [(3, 4), (6, 6)], None),
    # Inside one clip only.
    ((250, 300), [("pour take 3", 9, 50)], [], None),
])
def test_a_trim_keeps_exactly_its_frames_and_cuts_a_crossfade_it_cuts_into(
        trim: tuple[int, int], expected: list[tuple[str, int, int]], fades: list[tuple[int, int]],
        note: str | None) -> None:
    edit = edit_of(CLIPS, JOINS, trim)
    timeline = timeline_of(edit)
    assert [r[:3] for r in ranges(timeline)] == expected
    assert dissolves(timeline) == fades
    assert timeline.duration().value == trim[1] - trim[0]
    assert list(timeline.metadata[NAMESPACE]["notes"]) == ([] if note is None else [note])
    film = film_frames(edit)[trim[0]:trim[1]]
    shown = timeline_frames(video(timeline))
    assert all(frame <= film[t] and frame for t, frame in enumerate(shown))
    assert (shown == film) == (note is None)


@st.composite
def edits(draw: st.DrawFn) -> Edit:
    """Up to five clips of 30-80 frames, each join chained (the child skips its first frame), a cut or a crossfade
    of 1-14 frames, and any trim."""
    count = draw(st.integers(1, 5))
    kinds = [draw(st.sampled_from(["chained", "cut", "crossfade"])) for _ in range(count - 1)]
    clips = []
    for i in range(count):
        first = 1 if i and kinds[i - 1] == "chained" else 0
        clips.append((f"s{i}", first, first + draw(st.integers(30, 80))))
    joins = [(k, draw(st.integers(1, 14)) if k == "crossfade" else 0) for k in kinds]
    total = edit_of(clips, joins).frames
    start = draw(st.integers(0, total - 1))
    return edit_of(clips, joins, (start, draw(st.integers(start + 1, total))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit=edits())
def test_any_edit_and_trim_shows_the_films_frames_and_lasts_the_trim(edit: Edit) -> None:
    timeline = timeline_of(edit)
    start, end = edit.trim
    assert timeline.duration().value == end - start
    film = film_frames(edit)[start:end]
    shown = timeline_frames(video(timeline))
    assert len(shown) == end - start
    # Each timeline frame is a frame the film shows there (never one outside what the edit uses of a clip, so
    # every handle a dissolve needs is in the file); only a crossfade the trim cut into shows one side of it.
    assert all(frame and frame <= film[t] for t, frame in enumerate(shown))
    if edit.trim == (0, edit.frames):
        assert shown == film
    assert (shown != film) <= bool(timeline.metadata[NAMESPACE]["notes"])


def test_an_edit_that_does_not_add_up_is_refused() -> None:
    edit = edit_of(CLIPS, JOINS)
    with pytest.raises(ExportError, match="make 561 frames, not the 560 it records"):
        layout(Edit(560, (0, 560), edit.clips, edit.joins, "mute", None, (864, 480)))
    short = edit_of([("a", 0, 40), ("b", 0, 10), ("c", 0, 40)], [("crossfade", 6), ("crossfade", 6)])
    with pytest.raises(ExportError, match="the clip of b shows 10 frames, too few for its crossfades"):
        layout(short)


# -- what the timeline carries -------------------------------------------------------------------------------------


def test_clips_carry_their_facts_and_the_timeline_its_own() -> None:
    edit = edit_of(CLIPS, JOINS)
    timeline = timeline_of(edit)
    clips = [c for c in video(timeline) if isinstance(c, otio.schema.Clip)]
    facts = clips[3].metadata[NAMESPACE]
    assert (facts["name"], facts["shot"], facts["take"], facts["seed"], facts["task_id"], facts["cost"],
            facts["currency"], facts["prompt"]) == ("cup take 4", "cup", 4, 103, "cgt-3", 0.25, "USD", "prompt of cup")
    assert clips[3].media_reference.target_url == "file:///media/cup/clip.mp4"
    assert clips[3].media_reference.available_range.duration.value == 121  # the whole file, its handles included
    assert all(c.source_range.start_time.rate == 24 for c in clips)
    own = timeline.metadata[NAMESPACE]
    assert (own["storyboard"], own["output"], own["delivered_fps"], list(own["size"]), own["audio"]) == (
        "ad", "main", 24, [864, 480], "mute")
    assert own["generated_by"].startswith("orchestrator ")
    assert len(timeline.tracks) == 1  # a silent film has no audio track


def test_a_soundtrack_is_an_audio_track_from_the_start_for_the_timelines_length() -> None:
    music = Path("/media/music.mp3")
    timeline = timeline_of(edit_of(CLIPS, JOINS, (100, 500), audio="soundtrack", soundtrack=music), 1000)
    (audio,) = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio]
    (clip,) = list(audio)
    assert (clip.media_reference.target_url, clip.source_range.start_time.value, clip.source_range.duration.value,
            clip.media_reference.available_range.duration.value) == ("file:///media/music.mp3", 0, 400, 1000)
    assert audio.duration() == video(timeline).duration()
    shorter = timeline_of(edit_of(CLIPS, JOINS, (100, 500), audio="soundtrack", soundtrack=music), 300)
    assert shorter.tracks[1].duration().value == 300  # never past its media: the film is silent after it


def test_clip_sound_is_said_to_be_in_the_clips() -> None:
    timeline = timeline_of(edit_of(CLIPS, JOINS, audio="clips"))
    assert len(timeline.tracks) == 1
    assert "in their media files" in timeline.metadata[NAMESPACE]["sound"]


def test_a_card_is_named_as_one() -> None:
    edit = edit_of([("pick", 0, 48)], [])
    card = {edit.clips[0].path: ClipFacts("pick", CARD, "a hand picks an apple")}
    timeline = build(output_of(edit), card, {edit.clips[0].path: 48}, "ad")
    (clip,) = list(video(timeline))
    assert (clip.name, clip.metadata[NAMESPACE]["take"], clip.metadata[NAMESPACE]["seed"]) == (
        "pick animatic card", "animatic card", None)


def test_a_clip_file_shorter_than_the_edit_is_refused() -> None:
    edit = edit_of(CLIPS, JOINS)
    lengths = {c.path: c.source_out for c in edit.clips} | {edit.clips[1].path: 100}
    with pytest.raises(ExportError, match=r"shake/clip.mp4: the clip of shake has 100 frames, and the edit uses it "
                                          r"up to frame 121"):
        build(output_of(edit), facts_of(edit), lengths, "ad")


# -- the report's edits, as read ----------------------------------------------------------------------------------


def report_entry(**edit: Any) -> dict[str, Any]:
    body = {"fps": 24, "frames": 217, "trim": [0, 217], "audio": "mute", "soundtrack": None, "size": [864, 480],
            "clips": [{"shot": "a", "clip": "/r/shots/a/0123456789ab/clip.mp4", "source_in": 0, "source_out": 121},
                      {"shot": "b", "clip": "/r/shots/b/0123456789ab/clip.mp4", "source_in": 1, "source_out": 97}],
            "transitions": [{"kind": "chained", "frames": 0}]}
    body.update(edit)
    return {"name": "main", "path": "/r/outputs/main.mp4", "frames": 217, "seconds": 9.04, "fps": 24, "joins": [],
            "edit": body}


def test_a_report_is_read_into_edits(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"outputs": [report_entry()]}), encoding="utf-8")
    (output,) = read_report(path, "orchestrator assemble ad.yaml")
    assert (output.name, output.frames, output.fps) == ("main", 217, 24)
    assert output.edit.clips[1] == EditClip("b", Path("/r/shots/b/0123456789ab/clip.mp4"), 1, 97)
    assert output.edit.joins == (EditJoin("chained", 0),)
    assert (output.edit.frames, output.edit.trim, output.edit.size) == (217, (0, 217), (864, 480))


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "main"}, "output main has no 'edit' record (the report was written before exports): write it again "
                       "with `orchestrator assemble ad.yaml`"),
    (report_entry(trim=[0, 300]), "output main: edit.trim: [0, 300] is not a part of the edit's 217 frames"),
    (report_entry(transitions=[{"kind": "wipe", "frames": 0}]),
     "output main: edit.transitions[0].kind: 'wipe' is not one of chained, cut, crossfade"),
    (report_entry(transitions=[]), "output main: edit.transitions: 0 for 2 clips (one between each two)"),
    (report_entry(fps=25), "output main: edit.fps: 25: an edit is counted at the clips' 24 fps"),
    (report_entry(audio="soundtrack"), "output main: edit.soundtrack: the audio is a soundtrack, but no file is named"),
    (report_entry(frames="217"), 'output main: edit.frames: "217" is not a whole number'),
])
def test_a_report_that_is_not_an_edit_is_one_line(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"outputs": [entry]}), encoding="utf-8")
    with pytest.raises(ExportError) as raised:
        read_report(path, "orchestrator assemble ad.yaml")
    assert str(raised.value) == f"{path}: {message}"


# -- the formats, read back through their adapters ----------------------------------------------------------------


def cuts(timeline: Any) -> list[tuple[str, int, int]]:
    """(name, record in, record out) of each picture clip, with the dissolve frames either side counted as its own:
    the same cuts whichever way a format splits a dissolve around its cut point."""
    track = video(timeline)
    out = []
    for i, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip):
            continue
        record = track.range_of_child_at_index(i)
        before = track[i - 1] if i else None
        after = track[i + 1] if i + 1 < len(track) else None
        start = record.start_time.value - (before.in_offset.value if isinstance(before, otio.schema.Transition) else 0)
        end = record.end_time_exclusive().value + (
            after.out_offset.value if isinstance(after, otio.schema.Transition) else 0)
        out.append((item.name, int(start), int(end)))
    return out


def read_back(text: str, fmt: str) -> Any:
    adapter = {"otio": "otio_json", "fcpxml": "fcpx_xml", "xml": "fcp_xml", "edl": "cmx_3600"}[fmt]
    found = otio.adapters.read_from_string(text, adapter_name=adapter)
    return found[0] if isinstance(found, otio.schema.SerializableCollection) else found


@pytest.mark.parametrize("fmt", ["otio", "fcpxml", "xml", "edl"])
def test_every_format_reads_back_with_the_same_cuts(fmt: str) -> None:
    edit = edit_of(CLIPS, JOINS, (100, 500), audio="soundtrack", soundtrack=Path("/media/music.mp3"))
    timeline = timeline_of(edit, 1000)
    back = read_back(render(timeline, fmt), fmt)
    assert [c[0] for c in cuts(back)] == ["pick take 1", "shake take 2", "pour take 3", "cup take 4", "hero take 5"]
    assert back.duration().value == video(back).duration().value == 400
    if fmt == "edl":
        # CMX 3600 starts a dissolve's event where the dissolve starts, so the adapter reads it back split all on
        # one side of the cut (in 0, out F): the same cuts and dissolve lengths, other record points.
        assert cuts(back) == cuts(timeline)
        assert [a + b for a, b in dissolves(back)] == [a + b for a, b in dissolves(timeline)] == [7, 12]
        return
    assert ranges(back) == ranges(timeline)  # every clip's name, source range and record in and out
    if fmt == "fcpxml":
        assert dissolves(back) == []  # the adapter reads no transitions (the file has them: the next test)
    else:
        assert dissolves(back) == dissolves(timeline)
        assert cuts(back) == cuts(timeline)


def test_the_fcpxml_has_its_dissolves_and_frame_size() -> None:
    timeline = timeline_of(edit_of(CLIPS, JOINS))
    root = ElementTree.fromstring(render(timeline, "fcpxml"))
    (fmt,) = root.iter("format")
    assert (fmt.get("width"), fmt.get("height"), fmt.get("frameDuration"), fmt.get("name")) == (
        "864", "480", "25/600s", None)
    (effect,) = root.iter("effect")
    assert effect.get("uid") == "FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"
    spine = root.find("./project/sequence/spine")
    assert spine is not None
    assert [e.tag for e in spine] == ["clip", "clip", "clip", "transition", "clip", "transition", "clip"]
    # The 7-frame dissolve from 3 frames before the cut at 334, the 12-frame one from 6 before the cut at 446.
    assert [(t.get("offset"), t.get("duration"), t.find("filter-video").get("ref"))  # type: ignore[union-attr]
            for t in spine.iter("transition")] == [("331/24s", "7/24s", effect.get("id")),
                                                   ("55/3s", "1/2s", effect.get("id"))]
    notes = [n.text for n in root.iter("note")]
    assert "cup take 4; seed 103; model seedance-1-0-pro-250528; task cgt-3; cost 0.25 USD. Prompt: prompt of cup" \
        in notes


def test_the_fcp7_xml_carries_logging_info_and_the_frame_size() -> None:
    back = read_back(render(timeline_of(edit_of(CLIPS, JOINS)), "xml"), "xml")
    clip = [c for c in video(back) if isinstance(c, otio.schema.Clip)][2]
    logging = clip.metadata["fcp_xml"]["logginginfo"]
    assert (logging["scene"], logging["shottake"], logging["description"]) == ("pour", "3", "prompt of pour")
    assert logging["lognote"].startswith("pour take 3; seed 102")
    size = back.metadata["fcp_xml"]["media"]["video"]["format"]["samplecharacteristics"]
    assert (size["width"], size["height"]) == ("864", "480")


def test_the_edl_has_one_video_track_unique_reels_and_the_takes_in_comments() -> None:
    edit = edit_of(CLIPS, JOINS, audio="soundtrack", soundtrack=Path("/media/music.mp3"))
    timeline = timeline_of(edit, 1000)
    for_edl = dressed(timeline, "edl")
    assert [t.kind for t in for_edl.tracks] == [otio.schema.TrackKind.Video]
    assert len(timeline.tracks) == 2  # the timeline given is left as it was
    text = render(timeline, "edl")
    assert "PICK" in text and "SHAKE" in text and "* ORCHESTRATOR: cup take 4; seed 103" in text
    assert "* FROM CLIP NAME:  pour take 3" in text and "V     D 007" in text and "V     D 012" in text


def test_reel_names_are_short_and_unique() -> None:
    taken: set[str] = set()
    names = []
    for shot in ["establishing-wide", "establishing-wide", "establishing-wide", "x", "-"]:
        names.append(reel_name(shot, taken))
        taken.add(names[-1])
    assert names == ["ESTABLIS", "ESTABLI2", "ESTABLI3", "X", "CLIP"]
