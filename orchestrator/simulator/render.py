"""Render the simulator's clips: real H.264 MP4s with deterministic motion, plus the last frame as a lossless PNG.

A clip starts on the given first frame (or a background made from prompt and seed), pushes in and pans around a
circle in a direction taken from a hash of prompt and seed, and comes back to its opening framing moved by a few
whole pixels; when a last frame is given, it cross-fades onto that instead. Coming back matters for chains: a child
starts on its parent's last frame, and a zoom that ended closer would resample the picture once more at every link,
softening it and changing its mean colour with nothing the provider does (it renders new detail as it moves). What
softens or shifts along a simulated chain is then the drift model alone (simulator/drift.py), off by default; the
whole-pixel move keeps a clip's last frame different from its first, so a child that started on the wrong one of
them would show. Nothing is
drawn on the picture unless the job asks for annotations (prompt caption and frame counter): a caption burned into
a parent would travel into its children through the handed-on last frame, and into every seam check. Frames are
drawn with Pillow and piped as raw RGB into one ffmpeg process, which also synthesises the audio track. Every input
to ffmpeg is a pure function of the job and every muxer/encoder knob that could leak time or version is pinned, so
the same job gives the same bytes (with the same ffmpeg build).
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import math
import os
import random
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from orchestrator.binaries import ffmpeg_binary
from orchestrator.simulator.drift import NO_DRIFT, Drift, drifted

FPS = 24
AUDIO_RATE = 48_000
FADE_FRAMES = 12  # length of the cross-fade onto a requested last frame
SHIFT_PIXELS = 3  # how far a clip's last frame lies from its first (see Motion.shift)
GRAIN_SHARE = 0.02  # of a last frame's pixels, a code value lighter or darker: each take's own (see _last)
SUPERSAMPLE = 2  # moving frames are sampled from the first frame enlarged this many times (see _moved)
PROMPT_CHARS = 120  # how much of the prompt is drawn on the frames
X264_THREADS = 2  # pinned: x264's output depends on its thread count
VIDEO_NAME = "video.mp4"
PNG_NAME = "last_frame.png"
BT709 = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Mark = tuple[Image.Image, tuple[int, int]]  # the watermark and where it goes


@dataclass(frozen=True)
class RenderJob:
    """Everything that determines one clip's pixels and samples."""

    width: int
    height: int
    frames: int  # 24*d+1 (or the `frames` request value)
    prompt: str
    seed: int
    first_frame: bytes | None  # encoded image bytes, or None for text-to-video
    last_frame: bytes | None  # encoded image the clip must end on, or None
    generate_audio: bool
    watermark: bool = False  # "AI Generated" bottom-right on the video only (never on the last-frame PNG)
    annotate: bool = False  # burn the prompt caption and a frame counter into every moving frame
    upright: bool = True  # apply an input image's EXIF orientation (SimConfig.exif_orientation)
    drift: Drift = NO_DRIFT  # the drift model's amounts for this clip (simulator/drift.py): off by default


@dataclass(frozen=True)
class RenderResult:
    """The two files a render leaves in its output directory."""

    video: Path  # H.264 MP4, yuv420p, 24 fps, exactly job.frames frames, WxH exact, +faststart
    last_frame_png: Path  # the final frame, lossless PNG, exactly WxH, no watermark


@dataclass(frozen=True)
class Motion:
    """A push in and back out with a pan around a circle, ending on the opening framing moved by whole pixels;
    derived from prompt and seed."""

    depth: float  # how much closer the push is at mid-clip (0.075: 7.5 %)
    angle: float  # where the pan's circle starts, and the direction of the final move, in radians
    reach: float  # how much of the slack the zoom opens up the pan uses, 0..1

    @property
    def shift(self) -> tuple[int, int]:
        """The last frame's move against the first, in whole pixels (never 0: |x| or |y| is at least 2)."""
        return round(SHIFT_PIXELS * math.cos(self.angle)), round(SHIFT_PIXELS * math.sin(self.angle))


def render(job: RenderJob, out_dir: Path) -> RenderResult:
    """Render `job` into `out_dir` as video.mp4 and last_frame.png, both written atomically (replacing old ones)."""
    _check(job)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_tmp = _temp_path(out_dir, VIDEO_NAME)
    png_tmp = _temp_path(out_dir, PNG_NAME)
    try:
        final = _encode(job, _frames(job, _scene(job)), video_tmp)
        final.save(png_tmp, format="PNG", compress_level=1)  # lossless either way; level 1 is several times faster
        result = RenderResult(out_dir / VIDEO_NAME, out_dir / PNG_NAME)
        png_tmp.replace(result.last_frame_png)
        video_tmp.replace(result.video)
        return result
    finally:
        video_tmp.unlink(missing_ok=True)
        png_tmp.unlink(missing_ok=True)


def _check(job: RenderJob) -> None:
    # yuv420p halves chroma in both directions, so x264 refuses odd sizes; failing here says why.
    if job.width <= 0 or job.height <= 0 or job.width % 2 or job.height % 2:
        raise ValueError(f"video size must be positive and even, got {job.width}x{job.height}")
    if job.frames < 2:
        raise ValueError(f"a clip needs at least 2 frames, got {job.frames}")


def _temp_path(out_dir: Path, name: str) -> Path:
    fd, path = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)  # mkstemp makes files private; the results are ordinary files that others may read
    os.close(fd)
    return Path(path)


# --- frames -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """What every frame of one clip is drawn from, prepared (and the input images decoded) before ffmpeg starts."""

    base: Image.Image  # frame 1
    last: Image.Image | None  # the frame to end on, if one was requested
    motion: Motion
    fine: Image.Image  # the base with a margin of SHIFT_PIXELS (edge pixels) at SUPERSAMPLE times its size: what
    # the moving frames are sampled from
    annotations: Annotations | None  # only when the job asks for them


@dataclass(frozen=True)
class Annotations:
    """The opt-in text on the moving frames: the prompt caption and the frame counter."""

    font: Font
    caption: Image.Image
    counter: tuple[Mark, tuple[int, int]]  # the band the frame counter is written on, and where its text goes


def _scene(job: RenderJob) -> Scene:
    size = (job.width, job.height)
    rng = _rng(job)
    # Motion is drawn first so that it depends on prompt and seed only, not on whether a first frame was given.
    per_second = 0.01 + 0.04 * rng.random()  # the push: 1-5 % closer per second of the way to mid-clip
    motion = Motion(depth=per_second * (job.frames - 1) / FPS / 2, angle=2 * math.pi * rng.random(),
                    reach=rng.random())
    base = _decode_fit(job.first_frame, size, job.upright) if job.first_frame is not None else _background(size, rng)
    last = _decode_fit(job.last_frame, size, job.upright) if job.last_frame is not None else None
    margin = SHIFT_PIXELS
    edged = Image.fromarray(np.pad(np.asarray(base), ((margin, margin), (margin, margin), (0, 0)), mode="edge"))
    fine = edged.resize((edged.width * SUPERSAMPLE, edged.height * SUPERSAMPLE), Image.Resampling.BILINEAR)
    return Scene(base, last, motion, fine, _annotations(job) if job.annotate else None)


def _annotations(job: RenderJob) -> Annotations:
    font = ImageFont.load_default(size=max(12, job.height // 28))
    counter = _counter_band(font, _counter_label(job, job.frames), job.height)
    return Annotations(font, _caption(job.prompt, font, job.width), counter)


def _frames(job: RenderJob, scene: Scene) -> Iterator[Image.Image]:
    """Yield the clip's frames, without watermark: first frame, motion (with text if asked for), then the fade onto
    the last frame."""
    final = job.frames - 1
    fade = min(FADE_FRAMES, final)
    yield scene.base
    for index in range(1, job.frames):
        if scene.last is not None and index == final:
            yield scene.last  # exactly the requested image: no text, no resampling
            continue
        frame = _last(scene.base, scene.motion.shift, job) if index == final else _moved(scene.fine, scene.motion,
                                                                                           index / final)
        if (notes := scene.annotations) is not None:
            frame.paste(notes.caption, (0, 0), notes.caption)
            _draw_counter(frame, notes.font, notes.counter, _counter_label(job, index + 1))
        frame = drifted(frame, job.drift, index / final)
        if scene.last is not None and index > final - fade:
            frame = Image.blend(frame, scene.last, (index - (final - fade)) / fade)
        yield frame


def _rng(job: RenderJob) -> random.Random:
    # sha256 rather than hash(): str hashes are salted per process, and the bytes must not change between runs.
    digest = hashlib.sha256(f"{job.seed}\0{job.prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _decode_fit(data: bytes, size: tuple[int, int], upright: bool = True) -> Image.Image:
    """Decode an image (first frame of an animation) and centre-crop it to the target aspect, then resize."""
    with Image.open(BytesIO(data)) as opened:
        image = (ImageOps.exif_transpose(opened) if upright else opened).convert("RGB")
    if image.size == size:
        return image  # already the target: keep the pixels exact, so chained last frames survive unchanged
    width, height = image.size
    scale = min(width / size[0], height / size[1])
    crop_w, crop_h = size[0] * scale, size[1] * scale
    box = ((width - crop_w) / 2, (height - crop_h) / 2, (width + crop_w) / 2, (height + crop_h) / 2)
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A text-to-video opening frame: a diagonal two-colour gradient with a few soft shapes on it."""
    width, height = size
    start, end = (np.array(_colour(rng.random(), 0.55)), np.array(_colour(rng.random(), 0.35)))
    angle = 2 * math.pi * rng.random()
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = xs / width * math.cos(angle) + ys / height * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    pixels = start + (end - start) * ramp[..., None]
    image = Image.fromarray(pixels.round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6 + int(6 * rng.random())):
        x, y, r = rng.random() * width, rng.random() * height, (0.04 + 0.16 * rng.random()) * min(size)
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=_colour(rng.random(), 0.8), outline=(255, 255, 255), width=2)
    return image


def _colour(hue: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.65, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _moved(fine: Image.Image, motion: Motion, progress: float) -> Image.Image:
    """The base image, `progress` (0..1) of the way through the clip: pushed in by a sine (so back out to the
    opening framing at the end), panned around a circle within the slack the push opens, and moved by the
    final shift in proportion. The crop never leaves the supersampled base, which holds a margin of its edge pixels
    for the shift.

    Nearest-neighbour sampling of the supersampled base lands within a quarter pixel of where bilinear sampling
    of the base would, at a tenth of the cost: the renderer's CPU is what a simulated run waits for on a small
    machine, where several clips render at once next to the client's own ffmpegs."""
    margin = SHIFT_PIXELS * SUPERSAMPLE
    width, height = fine.width // SUPERSAMPLE - 2 * SHIFT_PIXELS, fine.height // SUPERSAMPLE - 2 * SHIFT_PIXELS
    inner_w, inner_h = width * SUPERSAMPLE, height * SUPERSAMPLE
    zoom = 1 + motion.depth * math.sin(math.pi * progress)
    crop_w, crop_h = inner_w / zoom, inner_h / zoom
    turn, pull = motion.angle + 2 * math.pi * progress, 0.5 + 0.5 * motion.reach
    shift_x, shift_y = motion.shift
    centre_x = margin + inner_w / 2 + (inner_w - crop_w) / 2 * pull * math.cos(turn) + shift_x * SUPERSAMPLE * progress
    centre_y = margin + inner_h / 2 + (inner_h - crop_h) / 2 * pull * math.sin(turn) + shift_y * SUPERSAMPLE * progress
    box = (centre_x - crop_w / 2, centre_y - crop_h / 2, centre_x + crop_w / 2, centre_y + crop_h / 2)
    return fine.resize((width, height), Image.Resampling.NEAREST, box=box)


def _last(base: Image.Image, shift: tuple[int, int], job: RenderJob) -> Image.Image:
    """The clip's last frame: the base moved by whole pixels, its edge pixels repeated into the gap (no resampling,
    so no softening), with a grain of its own: one pixel in GRAIN_SHARE a code value lighter or darker, drawn from
    seed and prompt. A few whole-pixel moves are all there are, so without the grain a take made again with another
    seed could end on the very frame the last take did, and its children would count as unchanged; the provider's
    last frames differ from take to take. The grain's mean is nothing and its detail a thousandth of a picture's."""
    pixels = np.asarray(base)
    dx, dy = shift
    padded = np.pad(pixels, ((abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0)), mode="edge")
    top, left = abs(dy) + dy, abs(dx) + dx
    moved = padded[top:top + pixels.shape[0], left:left + pixels.shape[1]].astype(np.int16)
    digest = hashlib.sha256(f"grain\0{job.seed}\0{job.prompt}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    grain = (rng.random(pixels.shape[:2]) < GRAIN_SHARE) * rng.choice(np.array([-1, 1], dtype=np.int16),
                                                                         pixels.shape[:2])
    return Image.fromarray(np.clip(moved + grain[..., None], 0, 255).astype(np.uint8))


# --- overlays ---------------------------------------------------------------------------------------------------


def _caption(prompt: str, font: Font, width: int) -> Image.Image:
    """The prompt, wrapped, on a translucent band across the top; RGBA so it can be pasted with its own alpha."""
    text = " ".join(prompt.split())[:PROMPT_CHARS] or "(no prompt)"
    char_width = font.getlength("abcdefghijklmnopqrstuvwxyz") / 26
    lines = textwrap.wrap(text, width=max(8, int((width * 0.92) / char_width)))
    line_height = _line_height(font)
    margin = line_height // 2
    band = Image.new("RGBA", (width, line_height * len(lines) + 2 * margin), (0, 0, 0, 110))
    draw = ImageDraw.Draw(band)
    for row, line in enumerate(lines):
        draw.text((margin, margin + row * line_height), line, font=font, fill=(255, 255, 255, 255))
    return band


def _counter_label(job: RenderJob, number: int) -> str:
    return f"frame {number}/{job.frames}   seed {job.seed}"


def _counter_band(font: Font, longest: str, height: int) -> tuple[Mark, tuple[int, int]]:
    """A translucent band at the bottom left, sized for the longest counter label, and where the label goes on it:
    it keeps the text readable on any picture without a stroked outline, which costs three times as much to draw
    on every frame."""
    line_height = _line_height(font)
    pad = line_height // 4
    band = Image.new("RGBA", (int(font.getlength(longest)) + 4 * pad, line_height + 2 * pad), (0, 0, 0, 120))
    left, top = pad, height - line_height * 3 // 2 - pad
    return (band, (left, top)), (left + 2 * pad, top + pad)


def _draw_counter(frame: Image.Image, font: Font, counter: tuple[Mark, tuple[int, int]], label: str) -> None:
    (band, at), text_at = counter
    frame.paste(band, at, band)
    ImageDraw.Draw(frame).text(text_at, label, font=font, fill=(255, 255, 255))


def _watermark(size: tuple[int, int]) -> Mark:
    """The "AI Generated" mark and where it goes: bottom-right, like the provider's."""
    font = ImageFont.load_default(size=max(12, size[1] // 24))
    left, top, right, bottom = (math.floor(edge) for edge in font.getbbox("AI Generated", stroke_width=2))
    mark = Image.new("RGBA", (right - left + 1, bottom - top + 1), (0, 0, 0, 0))
    ImageDraw.Draw(mark).text(
        (-left, -top), "AI Generated", font=font, fill=(255, 255, 255, 200), stroke_width=2, stroke_fill=(0, 0, 0, 120)
    )
    margin = size[1] // 40
    return mark, (size[0] - mark.width - margin, size[1] - mark.height - margin)


def _line_height(font: Font) -> int:
    _, top, _, bottom = font.getbbox("Ag")
    return int(bottom - top) * 3 // 2


# --- encoding ---------------------------------------------------------------------------------------------------


def ffmpeg_argv(job: RenderJob, dest: Path) -> list[str]:
    """The ffmpeg command that encodes raw RGB frames from stdin (and synthesised audio) into `dest`."""
    argv = [ffmpeg_binary(), "-hide_banner", "-nostats", "-loglevel", "error", "-y"]
    argv += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{job.width}x{job.height}", "-framerate", str(FPS)]
    argv += ["-i", "pipe:0"]
    if job.generate_audio:
        argv += ["-f", "lavfi", "-i", _audio_graph(job), "-map", "0:v", "-map", "1:a"]
    # Convert with BT.709 and tag it, so players and our own assembly agree on the colours.
    argv += ["-vf", f"scale=out_color_matrix=bt709:out_range=tv:flags=bitexact+accurate_rnd,format=yuv420p,{BT709}"]
    argv += ["-c:v", "libx264", "-preset", "superfast", "-crf", "18", "-threads", str(X264_THREADS), "-r", str(FPS)]
    argv += ["-c:a", "aac", "-b:a", "128k", "-ac", "1", "-ar", str(AUDIO_RATE)] if job.generate_audio else ["-an"]
    # Leave out everything that varies by time or version: encoder tags, creation time, metadata.
    argv += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
    return [*argv, "-movflags", "+faststart", "-f", "mp4", str(dest)]


def _audio_graph(job: RenderJob) -> str:
    """A lavfi graph of two seed-chosen tones with a slow tremolo, cut to exactly the video's length."""
    rng = random.Random(job.seed)
    scale = (220.0, 246.94, 277.18, 329.63, 369.99, 440.0, 493.88, 554.37)  # A major pentatonic-ish: never harsh
    low, high = scale[int(rng.random() * 4)], scale[4 + int(rng.random() * 4)]
    tremolo = round(0.2 + 0.8 * rng.random(), 3)
    expr = f"0.25*sin(2*PI*{low}*t)*(0.7+0.3*sin(2*PI*{tremolo}*t))+0.12*sin(2*PI*{high}*t)"
    samples = job.frames * AUDIO_RATE // FPS  # 2000 per frame: always whole
    fade = AUDIO_RATE // 50  # 20 ms at each end, so joins between clips don't click
    return (
        f"aevalsrc={expr}:s={AUDIO_RATE}:c=mono,atrim=end_sample={samples},"
        f"afade=t=in:ns={fade},afade=t=out:ss={samples - fade}:ns={fade}"
    )


def _encode(job: RenderJob, frames: Iterator[Image.Image], dest: Path) -> Image.Image:
    """Pipe every frame into ffmpeg, writing `dest`; return the final frame as drawn (no watermark)."""
    argv = ffmpeg_argv(job, dest)
    mark = _watermark((job.width, job.height)) if job.watermark else None
    # stderr goes to a file, not a pipe: a pipe nobody drains can fill up and deadlock both processes.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            final = _feed(process, frames, mark)
        except BaseException:
            process.kill()
            process.wait()
            raise
        if process.wait() != 0 or final is None:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"ffmpeg failed with exit code {process.returncode}: {argv}\n{tail}")
    return final


def _feed(process: subprocess.Popen[bytes], frames: Iterator[Image.Image], mark: Mark | None) -> Image.Image | None:
    """Write the frames to ffmpeg's stdin and close it; return the last frame written."""
    assert process.stdin is not None
    final = None
    try:
        for final in frames:
            _write(process.stdin, final, mark)
    except BrokenPipeError:
        pass  # ffmpeg died early; the caller reports its exit code and stderr
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    return final


def _write(pipe: IO[bytes], frame: Image.Image, mark: Mark | None) -> None:
    if mark is not None:
        frame = frame.copy()  # the PNG of the last frame must stay clean
        frame.paste(mark[0], mark[1], mark[0])
    pipe.write(frame.tobytes())
