"""The invalid-storyboard corpus: each file in `corpus/` breaks exactly one rule and says, in three header lines,
where the error must point and what it must say.

    # expect-line: 12                      1-based line the error points at
    # expect-path: shots[2].duration       data path named in the message ('-' for syntax errors: no path)
    # expect-message: is not allowed for   a substring of the message

JSON has no comments, so `NAME.json` keeps these lines in a sidecar `NAME.json.expect`. Media the corpus refers
to (`assets/NAME`) is generated here, never committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pytest

from tests.conftest import make_image, run_cli

CORPUS = Path(__file__).resolve().parent / "corpus"
MIN_CORPUS_FILES = 36
EXPECT_SUFFIX = ".expect"
STORYBOARD_SUFFIXES = (".yaml", ".yml", ".json")

# Images by file name -> (width, height); the format follows the suffix.
IMAGES: dict[str, tuple[int, int]] = {
    "ok.png": (1280, 720),
    "small.png": (200, 200),
    "huge.png": (6100, 3000),
    "wide.png": (1200, 400),
    "frame.ppm": (640, 480),
}
IMAGE_FORMATS: dict[str, str] = {".png": "PNG", ".ppm": "PPM", ".jpg": "JPEG"}
# Files that are not what their name says, by file name -> content.
RAW_FILES: dict[str, bytes] = {
    "not-an-image.png": b"This is a text file that only pretends to be a PNG image.\n",
    # The ISO-BMFF header of a HEIC photo: the brand is all the validator reads of a HEIF file.
    "photo.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
}
VIDEO = "clip.mp4"
# Referenced on purpose but never created.
MISSING: frozenset[str] = frozenset({"missing.png"})

_ASSET = re.compile(r"assets/([A-Za-z0-9._-]+)")
_HEADER = re.compile(r"^# expect-(line|path|message): (.+)$")


@dataclass(frozen=True)
class Expectation:
    """Where the error must point and what it must say."""

    line: int
    path: str
    message: str


def corpus_files() -> list[Path]:
    """Every storyboard in the corpus, sorted by name."""
    return sorted(p for p in CORPUS.iterdir() if p.suffix in STORYBOARD_SUFFIXES)


def header_lines(file: Path) -> list[str]:
    """The three expectation lines: the file's own first lines, or its sidecar's for JSON."""
    source = file.with_name(file.name + EXPECT_SUFFIX) if file.suffix == ".json" else file
    return source.read_text(encoding="utf-8").splitlines()[:3]


def read_expectation(file: Path) -> Expectation:
    """Parse the `expect-*` header of a corpus file."""
    found: dict[str, str] = {}
    for line in header_lines(file):
        match = _HEADER.match(line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    missing = {"line", "path", "message"} - set(found)
    assert not missing, f"{file.name}: missing header(s) {sorted(missing)}"
    return Expectation(int(found["line"]), found["path"], found["message"])


@pytest.fixture(scope="session")
def tiny_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real half-second MP4 (64x64, no audio) that mutagen can read, made once per session."""
    out = tmp_path_factory.mktemp("video") / VIDEO
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=64x64:d=0.5:r=10",
            "-c:v",
            "mpeg4",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


def make_assets(text: str, assets: Path, video: Path) -> None:
    """Create every `assets/NAME` the storyboard text refers to (except the ones meant to be missing)."""
    for name in sorted(set(_ASSET.findall(text))):
        target = assets / name
        assets.mkdir(parents=True, exist_ok=True)
        if name in IMAGES:
            make_image(target, *IMAGES[name], fmt=IMAGE_FORMATS[target.suffix])
        elif name in RAW_FILES:
            target.write_bytes(RAW_FILES[name])
        elif name == VIDEO:
            shutil.copyfile(video, target)
        else:
            assert name in MISSING, f"the corpus refers to assets/{name}, which this test does not know how to make"


def check_diagnostics(name: str, stderr: str, expected: Expectation) -> None:
    """Exactly one line, `NAME:LINE:COL: ...`, and it is the expected error: each file breaks one rule, so a
    second line would be a false report."""
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one diagnostic, got:\n{stderr}"
    located = re.compile(rf"^{re.escape(name)}:(\d+):(\d+): ")
    stray = [line for line in lines if not located.match(line)]
    assert not stray, f"lines that are not diagnostics of {name}:\n" + "\n".join(stray)
    wanted_path = "" if expected.path == "-" else f" {expected.path}: "
    hits = [
        line
        for line in lines
        if line.startswith(f"{name}:{expected.line}:") and wanted_path in line and expected.message in line
    ]
    assert hits, (
        f"expected line {expected.line}, path {expected.path!r}, message containing "
        f"{expected.message!r}; got:\n{stderr}"
    )


@pytest.mark.parametrize("corpus_file", corpus_files(), ids=lambda p: p.name)
def test_invalid_storyboard_is_reported(
    corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_mp4: Path
) -> None:
    expected = read_expectation(corpus_file)
    text = corpus_file.read_text(encoding="utf-8")
    shutil.copyfile(corpus_file, tmp_path / corpus_file.name)
    make_assets(text, tmp_path / "assets", tiny_mp4)
    monkeypatch.chdir(tmp_path)

    result = run_cli("validate", corpus_file.name)

    assert result.code == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    check_diagnostics(corpus_file.name, result.stderr, expected)


def test_corpus_is_complete() -> None:
    files = corpus_files()
    assert len(files) >= MIN_CORPUS_FILES
    for file in files:
        read_expectation(file)
    sidecars = sorted(CORPUS.glob(f"*{EXPECT_SUFFIX}"))
    assert all(p.with_suffix("").is_file() for p in sidecars), "a sidecar without its JSON file"
    unknown = [p.name for p in CORPUS.iterdir() if p.suffix not in (*STORYBOARD_SUFFIXES, EXPECT_SUFFIX)]
    assert not unknown, f"files the corpus test ignores: {unknown}"


SEVERAL_ERRORS = """\
version: 1
defaults:
  model: dreamina-seedance-2-0-260128
shots:
  - id: a
    prompt: A red apple on a table.
    duration: 20
  - id: b
    after: nosuch
    prompt: The apple rolls away.
  - id: c
    prompt: A glass of tea.
    first_frame: assets/missing.png
"""


def test_several_errors_are_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "several.yaml").write_text(SEVERAL_ERRORS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = run_cli("validate", "several.yaml")

    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith("several.yaml:7:15: shots[0].duration: 20 is not allowed for"), lines[0]
    assert lines[1].startswith("several.yaml:9:12: shots[1].after: 'nosuch' names no shot"), lines[1]
    assert lines[2].startswith("several.yaml:13:18: shots[2].first_frame: file not found: assets/missing.png"), lines[2]
