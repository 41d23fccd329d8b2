"""Reading the command lines ffmpeg-python compiles: `parse` cuts an argv into global options, inputs, graph and
outputs (options by name: ffmpeg-python writes them sorted); a -filter_complex is steps `[in]...filter[s0]...` joined
by `;`, one filter each, links labelled s0, s1, ... as they are made. `steps` refuses anything else, so a graph
written by hand (chains joined by `,`, labels such as [v]) fails here; `chains` reads it back as such chains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.ffmpeg import (
    AudioFinish,
    Delivery,
    Measured,
    NormalizePlan,
    audio_samples_args,
    concat_args,
    concat_pcm_args,
    crossfade_graph,
    demux_check_args,
    finish_args,
    first_frame_args,
    fused_args,
    header_args,
    loudness_args,
    loudness_measure_args,
    normalize_args,
    originals_args,
    poster_args,
    probe_args,
    seam_frames_args,
)

_STEP = re.compile(r"((?:\[[^\[\]]+\])+)([a-z0-9_]+(?:=[^\[\];,]*)?)((?:\[s\d+\])*)")
_LABEL = re.compile(r"\[([^\[\]]+)\]")
_INPUT_STREAM = re.compile(r"\d+(?::[va](?::\d+)?)?")  # an input's stream: 0, 1:a, 0:v:0


@dataclass(frozen=True)
class Step:
    inputs: tuple[str, ...]  # labels without brackets: "0:v:0", "s3"
    filter: str  # name=arguments
    outputs: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.filter.split("=")[0]


@dataclass(frozen=True)
class Chain:
    """Steps one after the other, each the only user of the one link before it: what a hand-written graph would
    have written as `a,b,c`."""

    inputs: tuple[str, ...]
    filters: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def text(self) -> str:
        return ",".join(self.filters)


def steps(text: str) -> list[Step]:
    """The graph's steps, checked to be ffmpeg-python's labelled form: every link made once as s0, s1, ... in order,
    used exactly once, after it is made; the graph's own inputs are input streams (`0:v:0`)."""
    out, made, used = [], [], set()
    for part in text.split(";"):
        match = _STEP.fullmatch(part)
        assert match, f"not a labelled ffmpeg-python step: {part!r}"
        inputs = tuple(_LABEL.findall(match.group(1)))
        outputs = tuple(_LABEL.findall(match.group(3)))
        for label in inputs:
            if _INPUT_STREAM.fullmatch(label):
                continue
            assert label in made and label not in used, f"{label} used before it is made, or twice: {part!r}"
            used.add(label)
        assert list(outputs) == [f"s{len(made) + i}" for i in range(len(outputs))], f"labels out of order: {part!r}"
        made += outputs
        out.append(Step(inputs, match.group(2), outputs))
    return out


def chains(text: str) -> list[Chain]:
    """The graph as chains (see Chain), in the order ffmpeg-python wrote their first steps."""
    found: list[Chain] = []
    ending: dict[str, int] = {}  # the single output link of a chain still open -> its index
    for step in steps(text):
        if len(step.inputs) == 1 and step.inputs[0] in ending:
            i = ending.pop(step.inputs[0])
            before = found[i]
            found[i] = Chain(before.inputs, (*before.filters, step.filter), step.outputs)
        else:
            i = len(found)
            found.append(Chain(step.inputs, (step.filter,), step.outputs))
        if len(step.outputs) == 1:
            ending[step.outputs[0]] = i
    return found


def chain_to(text: str, label: str) -> Chain:
    """The chain that makes the link `label`."""
    (found,) = [c for c in chains(text) if label in c.outputs]
    return found


GLOBAL_FLAGS = {"-hide_banner", "-nostdin", "-y", "-xerror", "-nostats", "-copyts"}  # global options without a value


@dataclass(frozen=True)
class Command:
    """An argv cut into its parts: global options, inputs (each with its options), the graph, outputs (each with its
    options, in order; -map given as `maps`)."""

    globals: list[str]
    inputs: list[tuple[str, dict[str, str]]]
    graph: str | None
    outputs: dict[str, tuple[list[str], dict[str, str]]]  # file -> (maps without brackets, options)

    def output(self, name: str) -> dict[str, str]:
        return self.outputs[name][1]

    def maps(self, name: str) -> list[str]:
        return self.outputs[name][0]

    @property
    def files(self) -> list[str]:
        return [name for name, _ in self.inputs]


def parse(argv: list[str]) -> Command:
    i, globals_ = 0, []
    while argv[i] in GLOBAL_FLAGS or argv[i] == "-loglevel":
        step = 2 if argv[i] == "-loglevel" else 1
        globals_ += argv[i:i + step]
        i += step
    inputs, options = [], {}
    while "-i" in argv[i:]:
        name, value = argv[i], argv[i + 1]
        if name == "-i":
            inputs.append((value, options))
            options = {}
        else:
            assert name.startswith("-") and name not in options, (name, argv)
            options[name[1:]] = value
        i += 2
    assert not options, f"input options after the last -i: {options}"
    text = None
    if argv[i:i + 1] == ["-filter_complex"]:
        text, i = argv[i + 1], i + 2
    outputs: dict[str, tuple[list[str], dict[str, str]]] = {}
    maps: list[str] = []
    while i < len(argv):
        if argv[i] == "-map":
            maps.append(argv[i + 1].strip("[]"))
            i += 2
        elif argv[i].startswith("-") and argv[i] != "-":
            assert argv[i][1:] not in options, f"{argv[i]} twice in one output"
            options[argv[i][1:]] = argv[i + 1]
            i += 2
        else:
            outputs[argv[i]] = (maps, options)
            maps, options, i = [], {}, i + 1
    assert not maps and not options, "options after the last output"
    return Command(globals_, inputs, text, outputs)


def assembly_argvs(tmp: Path) -> dict[str, list[str]]:
    """Every kind of command line the assembly runs, by name: each builder, every audio finish and loudness step,
    crossfades and cuts."""
    plan = NormalizePlan(320, 180, 1, 48, False, 2000, edge_frames=12)
    peaky = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-3.0)
    quiet = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-9.0)
    argvs = {
        "normalize pieces": normalize_args(tmp / "c.mp4", [tmp / "h.mov", tmp / "b.mov", tmp / "t.mov"], plan),
        "normalize": normalize_args(tmp / "c.mp4", [tmp / "w.mov"], NormalizePlan(320, 180, 0, 48, True)),
        "probe": probe_args(tmp / "c.mp4"), "demux check": demux_check_args(tmp / "c.mp4"),
        "audio samples": audio_samples_args(tmp / "c.mp4"), "header": header_args(tmp / "c.mp4"),
        "loudness": loudness_args(tmp / "f.mp4"),
        "seam frames": seam_frames_args(tmp / "f.mp4", [(0, 2), (40, 4)], 320, 180),
        "poster": poster_args(tmp / "c.mp4", tmp / "p.jpg", 480),
        "first frame": first_frame_args(tmp / "c.mp4"),
        "concat faded": concat_args(tmp / "l.txt", tmp / "f.mp4", 1, 48, 1.0),
        "finish delivered": finish_args(tmp / "j.mov", tmp / "f.mp4", AudioFinish("clips", fade_out_seconds=0.5,
                                                                                   window=(4000, 80_000)),
                                        1.3, 2, (Delivery(start=2, end=40, fps=30), 48)),
        "concat": concat_args(tmp / "l.txt", tmp / "f.mp4"),
        "concat pcm": concat_pcm_args(tmp / "l.txt", tmp / "j.mov"),
        "originals": originals_args(tmp / "l.txt", [tmp / "a.mp4", tmp / "b.mp4"], [48, 49], tmp / "f.mp4", 1),
        "crossfade piece": fused_args([tmp / "t.mov", tmp / "h.mov"], crossfade_graph([12, 12], [True], 12)[0],
                                      tmp / "x.mov"),
        "crossfade and cut": fused_args([tmp / "a.mov", tmp / "b.txt", tmp / "c.mov"],
                                        crossfade_graph([48, 48, 48], [True, False], 12)[0], tmp / "x.mov"),
    }
    for mode in ("clips", "mute", "soundtrack"):
        for duck in (True, False) if mode == "soundtrack" else (False,):
            for step, lufs, measured in (("", None, None), (" measured", -14.0, None), (" gain", -14.0, quiet),
                                         (" limited", -14.0, peaky)):
                finish = AudioFinish(mode, tmp / "m.wav", duck, lufs, measured)
                name = f"finish {mode}{' ducked' if duck else ''}{step}"
                argvs[name] = finish_args(tmp / "j.mov", tmp / "f.mp4", finish, 2.0)
                if measured is None and lufs is not None:
                    argvs[name.replace("finish", "measure")] = loudness_measure_args(tmp / "j.mov", finish, 2.0)
    return argvs
