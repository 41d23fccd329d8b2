"""One output from its clips: decide geometry, joins and audio work (pure), normalise every clip in parallel, join
(copy when possible), finish, verify, rename.

Every ffmpeg a pipeline starts shares one limit (the core count, or `workers`), and siblings are awaited together:
the first failure cancels the others and kills their ffmpegs. Clips the engine normalised as they arrived are
found in the cache and in this process's memory (probe, hashes), so the call after the last clip only joins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.assembly.capability import ffmpeg_ready
from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import (
    FPS,
    SAMPLES_PER_FRAME,
    AudioFinish,
    Delivery,
    concat_args,
    concat_pcm_args,
    originals_args,
)
from orchestrator.assembly.finish import (
    Transitions,
    can_copy_originals,
    crossfade_edges,
    film_channels,
    finish_audio,
    fuse,
    plan_transitions,
)
from orchestrator.assembly.grading import Grade
from orchestrator.assembly.join import Film, concat, publish
from orchestrator.assembly.normalize import Intermediate, normalize
from orchestrator.assembly.probe import ClipInfo, audio_samples, probe
from orchestrator.assembly.process import ffmpeg_slots, run_together
from orchestrator.assembly.qc import Loudness, integrated_loudness
from orchestrator.assembly.temp import temporary

LOUDNESS_TOLERANCE_LU = 1.0
SILENCE_LUFS = -70.0  # EBU R128's absolute gate: a film measured here has no sound above it at all


@dataclass(frozen=True)
class OutputClip:
    """One entry of an output: the shot, its clip, and whether it starts on the previous entry's last frame."""

    shot_id: str
    path: Path
    chained: bool  # the previous entry is its parent and handed over its last frame as this clip's first frame
    grade: Grade | None = None  # the colour anchor's grade for this clip (anchor.grades), when it is on


@dataclass(frozen=True)
class AssemblySettings:
    """The storyboard's `assembly:` section, resolved (paths absolute)."""

    transition: str = "cut"
    crossfade_seconds: float = 0.5
    audio: str = "clips"  # clips | mute | soundtrack
    soundtrack: Path | None = None
    duck: bool = True  # soundtrack under the clips' own audio (ducked), or replacing it
    loudness_lufs: float | None = None
    fade_out_seconds: float = 1.0  # the film's sound fades out over its end (0: off)
    delivery: Delivery = field(default_factory=Delivery)  # trim and frame rate of the delivered film
    fit: str = "pad"  # clips of another shape than the film's: pad or crop
    color_anchor: str = "off"  # root: chained clips come graded toward their chain's first frame (OutputClip.grade)

    @property
    def audio_work(self) -> bool:
        """True when the clips' audio cannot simply be carried over."""
        return self.audio != "clips" or self.loudness_lufs is not None


@dataclass(frozen=True)
class EditClip:
    """One entry of a film's edit: the frames of its clip the film shows (24 fps, `source_out` exclusive)."""

    shot: str
    clip: str  # the clip file's absolute path
    source_in: int
    source_out: int


@dataclass(frozen=True)
class EditJoin:
    """How two entries meet: chained (the child continues its parent's last frame), cut, or crossfade."""

    kind: str  # chained | cut | crossfade
    frames: int  # the crossfade's length (its two clips overlap by this many frames); 0 otherwise


@dataclass(frozen=True)
class Edit:
    """What the film is made of, as an editor's timeline would hold it (24 fps, the clips' rate), before the
    delivery's frame rate: its clips, the joins between them, and the part kept. `report.json` carries it for
    `orchestrator export`."""

    clips: tuple[EditClip, ...]
    joins: tuple[EditJoin, ...]
    frames: int  # of the whole edit, before the trim
    trim: tuple[int, int]  # the frames kept, end exclusive


@dataclass(frozen=True)
class AssembledOutput:
    """The film plus what went into it, for the report."""

    film: Film
    parts: tuple[Intermediate, ...]
    width: int
    height: int
    seams: tuple[int, ...] = ()  # film frame right after each join (mid-fade for a crossfade)
    fast_path: bool = False
    warnings: list[str] = field(default_factory=list)
    loudness: Loudness | None = None  # measured by the loudness check when a target is set, for QC to reuse
    seam_joins: tuple[int, ...] = ()  # for each seam, the join it is (i: between entries i and i+1); a trim may
    # take joins out of the film
    edit: Edit | None = None
    fps: int = FPS


def output_geometry(items: Sequence[tuple[int, int, int]]) -> tuple[int, int]:
    """From (width, height, frames) of each clip, the size most of the film's frames already have (ties: the
    larger), so the fewest frames are rescaled; sides made even (yuv420p needs them)."""
    weight: Counter[tuple[int, int]] = Counter()
    for width, height, frames in items:
        weight[(width, height)] += frames
    width, height = max(weight, key=lambda size: (weight[size], size[0] * size[1]))
    return width - width % 2, height - height % 2


def output_size(infos: list[ClipInfo]) -> tuple[int, int]:
    """`output_geometry` of probed clips."""
    return output_geometry([(i.width, i.height, i.frames) for i in infos])


async def assemble_output(clips: list[OutputClip], dest: Path, cache_dir: Path,
                          settings: AssemblySettings | None = None, workers: int | None = None,
                          size: tuple[int, int] | None = None) -> AssembledOutput:
    """Make one film from its clips; chained entries drop their repeated first frame. `size` (even sides), when
    given, is the film's frame size instead of the one `output_size` finds; `workers` bounds the ffmpegs run at
    once (default: the core count)."""
    with ffmpeg_slots(workers):
        return await _assemble(clips, dest, cache_dir, settings or AssemblySettings(), size)


async def _assemble(clips: list[OutputClip], dest: Path, cache_dir: Path, settings: AssemblySettings,
                    size: tuple[int, int] | None) -> AssembledOutput:
    # Packet-level probes: enough for geometry; each clip is decoded in full only if it must be encoded anew.
    if size is not None and (size[0] <= 0 or size[1] <= 0 or size[0] % 2 or size[1] % 2):
        raise ValueError(f"a film's size needs even, positive sides, not {size[0]}x{size[1]}")
    await ffmpeg_ready()  # a build that lacks what a film needs is refused in one line, not mid-film
    infos = await run_together(probe(c.path, decode=False) for c in clips)
    width, height = size or output_size(infos)
    chained = [False, *(c.chained for c in clips[1:])]
    fading = settings.transition == "crossfade" and not all(chained[1:])
    dest.parent.mkdir(parents=True, exist_ok=True)
    channels = film_channels(infos, settings.audio == "soundtrack")
    same_size = all((i.width, i.height) == (width, height) for i in infos)
    delivery = settings.delivery
    graded = any(c.grade is not None for c in clips)
    if not (fading or graded) and same_size and not delivery.changes_picture \
            and await _copyable(infos, chained, settings):
        originals = [(c.path.resolve(), i.frames) for c, i in zip(clips, infos, strict=True)]
        paths, counts = [p for p, _ in originals], [n for _, n in originals]
        fade = settings.fade_out_seconds
        with temporary(dest, ".part.mp4") as part:
            await concat(originals, part, lambda lst, out: originals_args(lst, paths, counts, out, channels, fade))
            film = await publish(part, dest, sum(counts), decode=False)
        edit = _edit(clips, [(0, n) for n in counts], ["cut"] * (len(clips) - 1), 0, Delivery())
        return AssembledOutput(film, (), width, height, seams=_seams(counts, []), fast_path=True,
                               seam_joins=tuple(range(len(clips) - 1)), edit=edit)
    edges = crossfade_edges(settings.transition, settings.crossfade_seconds)
    parts = await run_together(normalize(c.path, width, height, skip, cache_dir, info, edges, settings.fit, c.grade)
                               for c, info, skip in zip(clips, infos, chained, strict=True))
    names = [c.shot_id for c in clips]
    plan = plan_transitions(parts, chained, names, fading, settings.crossfade_seconds)
    kinds = ["chained" if c else ("crossfade" if f else "cut") for c, f in zip(chained[1:], plan.fades, strict=True)]
    ranges = [(int(skip), int(skip) + p.frames) for skip, p in zip(chained, parts, strict=True)]
    edit = _edit(clips, ranges, kinds, plan.fade_frames, delivery)
    joined = edit.frames
    if edit.trim[1] <= edit.trim[0]:
        raise AssemblyError(f"{dest.name}: the trim keeps nothing of the film's {joined} frames "
                            f"({joined / FPS:.2f} s): set outputs.{dest.stem}.trim inside it, then run "
                            "`orchestrator assemble` (the clips are kept)")
    film = await _join_and_finish(parts, plan, settings, dest, channels, cache_dir, joined)
    loudness, missed = await _loudness_check(film, settings)
    overlaps = [join.frames for join in edit.joins]
    placed = [(i, delivery.position(seam)) for i, seam in enumerate(_seams([p.frames for p in parts], overlaps))]
    kept = [(i, at) for i, at in placed if at is not None and 0 < at < film.frames]
    return AssembledOutput(film, tuple(parts), width, height, seams=tuple(at for _, at in kept),
                           warnings=[*plan.warnings, *missed], loudness=loudness,
                           seam_joins=tuple(i for i, _ in kept), edit=edit, fps=delivery.fps)


def _edit(clips: list[OutputClip], ranges: list[tuple[int, int]], kinds: list[str], fade_frames: int,
          delivery: Delivery) -> Edit:
    entries = tuple(EditClip(c.shot_id, str(c.path.resolve()), a, b) for c, (a, b) in zip(clips, ranges, strict=True))
    joins = tuple(EditJoin(kind, fade_frames if kind == "crossfade" else 0) for kind in kinds)
    frames = sum(b - a for a, b in ranges) - sum(j.frames for j in joins)
    return Edit(entries, joins, frames, (delivery.start, delivery.start + delivery.kept(frames)))


def _seams(frames: list[int], overlaps: list[int]) -> tuple[int, ...]:
    """Where each join lands in the film: after the frames so far, less the overlaps so far (a crossfade's seam is
    its middle)."""
    seams, position = [], 0
    for i, count in enumerate(frames[:-1]):
        overlap = overlaps[i] if i < len(overlaps) else 0
        position += count - overlap
        seams.append(position + overlap // 2)
    return tuple(seams)


async def _loudness_check(film: Film, settings: AssemblySettings) -> tuple[Loudness | None, list[str]]:
    """Loudness is verified on the finished file; a miss (e.g. a film of near silence) is reported, not fatal.
    The measurement is returned for QC, which would otherwise scan the film again."""
    if settings.loudness_lufs is None or settings.audio == "mute":
        return None, []
    measured = await integrated_loudness(film.path)
    if measured is not None and measured <= SILENCE_LUFS:
        return Loudness(measured), [f"{film.path.name}: integrated loudness {measured} LUFS: the film is silent (its "
                                    f"clips have no sound), so there is nothing to bring to {settings.loudness_lufs:g};"
                                    " say so with assembly.audio: mute or loudness_lufs: null"]
    if measured is None or abs(measured - settings.loudness_lufs) > LOUDNESS_TOLERANCE_LU:
        return Loudness(measured), [f"{film.path.name}: integrated loudness {measured} LUFS, target "
                                    f"{settings.loudness_lufs:g} (more than {LOUDNESS_TOLERANCE_LU:g} LU off)"]
    return Loudness(measured), []


def copy_expected(chained: list[bool], settings: AssemblySettings, graded: bool) -> bool:
    """Whether a film would join its original clips by copy, given clips encoded alike (what `_assemble` checks once
    it has them): no chained join, no crossfade, no grade, no audio work, no delivery that changes the picture. Its
    clips then need no intermediate, so none is made ahead."""
    return not (any(chained[1:]) or graded or settings.audio_work or settings.delivery.changes_picture
                or (settings.transition == "crossfade" and len(chained) > 1))


async def _copyable(infos: list[ClipInfo], chained: list[bool], settings: AssemblySettings) -> bool:
    if not can_copy_originals(infos, chained, settings.audio_work, [float(i.frames) for i in infos]):
        return False  # cheap conditions first; the audio lengths cost a decode each
    lengths = await run_together(audio_samples(i.path) for i in infos)
    return can_copy_originals(infos, chained, settings.audio_work, [n / SAMPLES_PER_FRAME for n in lengths])


async def _join_and_finish(parts: list[Intermediate], plan: Transitions, settings: AssemblySettings,
                           dest: Path, channels: int, cache_dir: Path, joined_frames: int) -> Film:
    # Crossfaded parts were encoded anew and strictly decoded in `fuse`; the rest are verified intermediates, so
    # the film is checked by its packets either way (a delivered picture is encoded here: decoded once more).
    pieces, frames = await fuse(parts, plan, cache_dir)
    delivery = settings.delivery
    if not settings.audio_work and not delivery.changes_picture:  # video copied, audio encoded once
        fade = settings.fade_out_seconds
        with temporary(dest, ".part.mp4") as final:
            await concat(pieces, final, lambda lst, out: concat_args(lst, out, channels, frames, fade))
            return await publish(final, dest, frames, decode=False)
    kept = delivery.kept(joined_frames)
    window = (delivery.start * SAMPLES_PER_FRAME, (delivery.start + kept) * SAMPLES_PER_FRAME)
    out_frames = delivery.frames(joined_frames)
    with temporary(dest, ".joined.mov") as joined, temporary(dest, ".part.mp4") as final:
        await concat(pieces, joined, concat_pcm_args)
        finish = AudioFinish(settings.audio, settings.soundtrack, settings.duck, settings.loudness_lufs,
                             fade_out_seconds=settings.fade_out_seconds,
                             window=window if delivery.changes_picture else None)
        picture = (delivery, joined_frames) if delivery.changes_picture else None
        await finish_audio(joined, final, finish, out_frames, channels, picture)
        return await publish(final, dest, out_frames, decode=picture is not None, fps=delivery.fps)
