"""The simulator's renderer, checked against real ffmpeg output (decoded with the ffmpeg binary alone: no ffprobe)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from orchestrator.binaries import ffmpeg_binary
from orchestrator.simulator.render import (
    AUDIO_RATE,
    FPS,
    RenderJob,
    RenderResult,
    _annotations,
    _decode_fit,
    _frames,
    _moved,
    _scene,
    ffmpeg_argv,
    render,
)

WIDTH, HEIGHT, FRAMES = 864, 496, 49  # 480p 16:9 for the 2.x family, 2 s
PROMPT = "A lighthouse on a cliff at dusk, waves crashing below, the camera drifts slowly towards the light"


def picture(width: int, height: int, hue: int) -> Image.Image:
    """A smooth, photo-like test image (gradient and shapes): H.264 keeps it close, unlike noise."""
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :] * np.linspace(0.4, 1, height, dtype=np.float32)[:, None]
    pixels = np.stack([ramp * 220, (1 - ramp) * 180 + hue % 60, np.full_like(ramp, hue)], axis=-1)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.2, height * 0.2, width * 0.5, height * 0.7), fill=(240, 200, 40))
    draw.rectangle((width * 0.6, height * 0.5, width * 0.9, height * 0.9), fill=(30, 60, 200))
    return image


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def job(**changes: object) -> RenderJob:
    base = RenderJob(WIDTH, HEIGHT, FRAMES, PROMPT, 7, None, None, generate_audio=False)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- probing with the ffmpeg binary alone ------------------------------------------------------------------------


def ffmpeg(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([ffmpeg_binary(), "-hide_banner", *map(str, args)], capture_output=True, check=False)


def header(video: Path) -> str:
    """What `ffmpeg -i` says about the streams (it exits 1 for lack of an output, which is fine)."""
    return ffmpeg("-i", video).stderr.decode()


def decoded_frames(video: Path) -> np.ndarray:
    """Every video frame as RGB, shape (n, h, w, 3); passthrough so ffmpeg neither drops nor duplicates any."""
    run = ffmpeg("-loglevel", "error", "-i", video, "-map", "0:v", "-fps_mode", "passthrough", "-f", "rawvideo",
                 "-pix_fmt", "rgb24", "-")  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    return np.frombuffer(run.stdout, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


def audio_samples(video: Path) -> int:
    """How many samples the audio track decodes to (the mp4 edit list trims the AAC encoder's priming)."""
    run = ffmpeg("-loglevel", "error", "-i", video, "-map", "0:a", "-f", "s16le", "-ac", "1",
                 "-ar", str(AUDIO_RATE), "-")  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    return len(run.stdout) // 2


def mae(a: np.ndarray | Image.Image, b: np.ndarray | Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


# --- shared renders (each costs about half a second) -------------------------------------------------------------

FIRST = picture(WIDTH, HEIGHT, 90)
LAST = picture(WIDTH, HEIGHT, 200).transpose(Image.Transpose.FLIP_LEFT_RIGHT)


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderJob, RenderResult]:
    """Image to video with both ends given, audio, watermark and annotations on."""
    spec = job(first_frame=encode(FIRST), last_frame=encode(LAST, "TIFF"), generate_audio=True, watermark=True,
               annotate=True)
    return spec, render(spec, tmp_path_factory.mktemp("chained"))


@pytest.fixture(scope="module")
def text_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderJob, RenderResult]:
    """Text to video, no audio."""
    spec = job()
    return spec, render(spec, tmp_path_factory.mktemp("text"))


def test_video_has_exact_size_frame_count_and_rate(chained: tuple[RenderJob, RenderResult]) -> None:
    spec, result = chained
    info = header(result.video)
    assert re.search(rf"Video: h264 .*yuv420p.*, {WIDTH}x{HEIGHT}[, ].*\b{FPS} fps", info), info
    assert len(decoded_frames(result.video)) == spec.frames
    data = result.video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "+faststart puts the index first, so playback can start early"


def test_audio_track_is_as_long_as_the_video(chained: tuple[RenderJob, RenderResult]) -> None:
    spec, result = chained
    assert re.search(r"Audio: aac .*48000 Hz, mono", header(result.video))
    assert abs(audio_samples(result.video) - spec.frames * AUDIO_RATE // FPS) <= AUDIO_RATE // FPS


def test_no_audio_stream_without_generate_audio(text_only: tuple[RenderJob, RenderResult]) -> None:
    _, result = text_only
    assert "Audio:" not in header(result.video)


def test_clip_starts_on_first_frame_and_ends_on_last_frame(chained: tuple[RenderJob, RenderResult]) -> None:
    _, result = chained
    frames = decoded_frames(result.video)
    top = slice(0, HEIGHT // 8)  # where the caption goes: frame 1 must not carry it
    assert mae(frames[0], FIRST) < 6
    assert mae(frames[0][top], np.asarray(FIRST)[top]) < 6
    assert mae(frames[-1], LAST) < 6
    assert mae(frames[len(frames) // 2], FIRST) > 6, "the middle of the clip should have moved and carry the caption"


def test_last_frame_png_is_the_given_image_exactly_without_watermark(chained: tuple[RenderJob, RenderResult]) -> None:
    _, result = chained
    with Image.open(result.last_frame_png) as png:
        assert png.format == "PNG"
        assert png.size == (WIDTH, HEIGHT)
        assert np.array_equal(np.asarray(png.convert("RGB")), np.asarray(LAST))


def test_watermark_is_drawn_bottom_right_on_the_video_only(chained: tuple[RenderJob, RenderResult]) -> None:
    _, result = chained
    last = decoded_frames(result.video)[-1]
    corner = (slice(HEIGHT - HEIGHT // 12, HEIGHT), slice(WIDTH - WIDTH // 6, WIDTH))
    assert mae(last[corner], np.asarray(LAST)[corner]) > 6
    assert mae(last[: HEIGHT // 2], np.asarray(LAST)[: HEIGHT // 2]) < 6


def test_text_to_video_moves_and_its_png_is_the_final_frame(text_only: tuple[RenderJob, RenderResult]) -> None:
    spec, result = text_only
    frames = decoded_frames(result.video)
    assert len(frames) == spec.frames
    moved = np.abs(frames[0].astype(np.int16) - frames[-1].astype(np.int16)).max(axis=-1) > 24
    assert moved.mean() > 0.02, "shape edges should have shifted by the end (nothing else is drawn on the frames)"
    with Image.open(result.last_frame_png) as png:
        assert png.size == (WIDTH, HEIGHT)
        assert mae(frames[-1], png.convert("RGB")) < 6


def test_first_frame_of_another_aspect_is_centre_cropped(tmp_path: Path) -> None:
    square = picture(1000, 1000, 30)
    result = render(job(first_frame=encode(square, "JPEG"), frames=2), tmp_path)
    expected = ImageOps.fit(Image.open(BytesIO(encode(square, "JPEG"))).convert("RGB"), (WIDTH, HEIGHT))
    assert mae(decoded_frames(result.video)[0], expected) < 6


def test_same_job_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    spec = job(first_frame=encode(FIRST), generate_audio=True)
    first, again = render(spec, tmp_path / "a"), render(spec, tmp_path / "b")
    other = render(dataclasses.replace(spec, seed=8), tmp_path / "c")
    assert first.video.read_bytes() == again.video.read_bytes()
    assert first.last_frame_png.read_bytes() == again.last_frame_png.read_bytes()
    assert first.video.read_bytes() != other.video.read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["last_frame.png", "video.mp4"], "no temp files left"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"])
def test_every_input_format_decodes_to_the_target_size(fmt: str) -> None:
    image = _decode_fit(encode(picture(640, 640, 10), fmt), (WIDTH, HEIGHT))
    assert (image.mode, image.size) == ("RGB", (WIDTH, HEIGHT))


def test_undecodable_image_fails_before_ffmpeg_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(UnidentifiedImageError):
        render(job(first_frame=b"not an image"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_odd_sizes_are_refused_before_ffmpeg_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        render(job(width=865), tmp_path)


def test_ffmpeg_failure_raises_with_argv_and_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 8\n")
    broken.chmod(0o755)
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(broken))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match=r"(?s)exit code 8.*libx264.*Unknown encoder"):
        render(job(), out)
    assert list(out.iterdir()) == [], "temp files are removed on failure"


def test_argv_pins_everything_that_could_vary() -> None:
    argv = ffmpeg_argv(job(generate_audio=True), Path("out.mp4"))
    joined = " ".join(argv)
    for flag in ("-c:v libx264", "-pix_fmt rgb24", "-threads 2", "-r 24", "-fflags +bitexact", "-flags:v +bitexact",
                 "-flags:a +bitexact", "-map_metadata -1", "-movflags +faststart", "-ar 48000", "-ac 1"):  # fmt: skip
        assert flag in joined
    assert "-an" in ffmpeg_argv(job(), Path("out.mp4"))
    assert "end_sample=98000" in joined  # 49 frames at 24 fps = 2000 samples per frame, exactly


# --- annotations are opt-in ----------------------------------------------------------------------------------------


def drawn(spec: RenderJob) -> list[np.ndarray]:
    """The frames as drawn, before encoding (so comparisons are exact)."""
    return [np.asarray(frame) for frame in _frames(spec, _scene(spec))]


def test_frames_carry_no_text_unless_annotate_asks() -> None:
    plain = job(frames=13)
    scene = _scene(plain)
    clean = drawn(plain)
    assert np.array_equal(clean[0], np.asarray(scene.base))
    final = len(clean) - 1
    for index, frame in enumerate(clean[1:final], start=1):  # nothing but the motion: no caption, no counter
        assert np.array_equal(frame, np.asarray(_moved(scene.fine, scene.motion, index / final)))
    # The motion ends on the opening framing moved by whole pixels: the last frame is the first, shifted, unsoftened,
    # but for a grain of single code values on about 2 % of its pixels.
    dx, dy = scene.motion.shift
    assert max(abs(dx), abs(dy)) >= 2
    base = np.asarray(scene.base).astype(int)
    inner = (slice(3, HEIGHT - 3), slice(3, WIDTH - 3))
    grain = clean[final][inner].astype(int) - base[3 + dy:HEIGHT - 3 + dy, 3 + dx:WIDTH - 3 + dx]
    assert np.abs(grain).max() <= 1 and 0.01 < (grain != 0).any(axis=-1).mean() < 0.03
    assert not np.array_equal(clean[final], np.asarray(scene.base))

    annotated = dataclasses.replace(plain, annotate=True)
    noted = drawn(annotated)
    notes = _annotations(annotated)
    (band, (left, top)), _ = notes.counter
    outside = np.ones((HEIGHT, WIDTH), bool)
    outside[: notes.caption.height, :] = False
    outside[top: top + band.height, left: left + band.width] = False
    assert np.array_equal(noted[0], clean[0]), "frame 1 is never annotated"
    for with_text, without in zip(noted[1:], clean[1:], strict=True):
        differs = (with_text != without).any(axis=-1)
        assert differs[: notes.caption.height].any() and differs[top: top + band.height].any()
        assert not differs[outside].any(), "annotations only touch the caption and counter bands"


def test_takes_with_another_seed_end_on_other_frames_even_when_their_moves_agree() -> None:
    """A reroll must hand its children a frame of its own, or they would count as unchanged and never be made."""
    picture = BytesIO()
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(picture, "PNG")
    opening = picture.getvalue()  # both takes start on this frame, as a reroll of a chained shot does
    by_shift: dict[tuple[int, int], int] = {}
    for seed in range(200):
        shift = _scene(job(frames=2, seed=seed, first_frame=opening)).motion.shift
        if shift in by_shift:
            break
        by_shift[shift] = seed
    first, second = (drawn(job(frames=2, seed=s, first_frame=opening))[-1] for s in (by_shift[shift], seed))
    assert np.abs(first.astype(int) - second).max() == 2  # the same move: only the grain tells them apart


def test_first_frame_job_starts_on_the_given_image_exactly() -> None:
    frames = drawn(job(first_frame=encode(FIRST), frames=5))
    assert np.array_equal(frames[0], np.asarray(FIRST))


def test_without_annotations_the_png_is_the_final_frame_exactly(tmp_path: Path) -> None:
    spec = job(frames=9)
    result = render(spec, tmp_path)
    with Image.open(result.last_frame_png) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), drawn(spec)[-1])
    again = render(spec, tmp_path / "again")
    assert result.video.read_bytes() == again.video.read_bytes()
