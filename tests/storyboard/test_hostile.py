"""Hostile and careless input: each refused with exit 2 and one located line naming the file, in bounded time and
memory. The inputs are made at test time (the big ones could not be committed) and checked by the real command
line in one child process under a 2 GB address-space limit, with a 15 s alarm per input.
"""

from __future__ import annotations

import json
import os
import re
import resource
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, make_image

ADDRESS_SPACE = 2 * 1024**3
SECONDS_EACH = 15
HEAD = "version: 1\ndefaults:\n  model: dreamina-seedance-2-0-260128\nshots:\n  - id: a\n    prompt: An apple\n"
IMAGE_LINE = 7  # where `first_frame:` sits in a storyboard made by `with_image`


@dataclass(frozen=True)
class Case:
    """One hostile input: how to make it, and what its refusal must say."""

    name: str
    make: Callable[[Path], Path]
    fragment: str
    line: int | None = None  # None: any line (the file as a whole, or where a bound was crossed)
    lines: int = 1  # how many diagnostics; a hostile input gets one
    may_pass: bool = False  # a storyboard that is only big may validate, quickly


def text(name: str, body: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_text(body, encoding="utf-8")
        return path
    return make


def raw(name: str, body: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(body)
        return path
    return make


def with_image(make_image_file: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """A valid storyboard whose one shot starts on the given file."""
    def make(folder: Path) -> Path:
        image = make_image_file(folder)
        path = folder / f"uses-{image.name}.yaml"
        path.write_text(HEAD + f"    first_frame: {image}\n", encoding="utf-8")
        return path
    return make


def png(width: int, height: int, data: bytes, *, crc_ok: bool = True) -> bytes:
    """A PNG with the given header and IDAT payload (compressed here), CRCs correct."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data, 9)) + \
        chunk(b"IEND", b"")


def image_file(name: str, body: Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(body())
        return path
    return make


def fifo(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        os.mkfifo(path)
        return path
    return make


def folder_named(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.mkdir()
        return path
    return make


def device(_: Path) -> Path:
    return Path("/dev/zero")


def symlink_loop(folder: Path) -> Path:
    (folder / "loop.png").symlink_to(folder / "loop.png")
    return folder / "loop.png"


def truncated_png(folder: Path) -> Path:
    whole = make_image(folder / "whole.png", 640, 640).read_bytes()
    return raw("truncated.png", whole[: len(whole) // 2])(folder)


def alias_bomb() -> str:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "version: 1\n" + "\n".join(rows) + "\nshots: *i\n"


def merge_bomb() -> str:
    rows = ["m0: &m0 {k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}"]
    for level in range(1, 10):
        merges = ", ".join([f"*m{level - 1}"] * 9)
        rows.append(f"m{level}: &m{level} {{<<: [{merges}], x{level}: {level}}}")
    return "version: 1\n" + "\n".join(rows) + "\nshots:\n  - <<: *m9\n    id: a\n"


def deep_block(levels: int) -> str:
    return "version: 1\nshots:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, levels)) + "  " * levels + "x\n"


def many_shots(count: int) -> str:
    rows = [HEAD.split("shots:")[0] + "shots:"]
    for i in range(count):
        rows.append(f"  - id: s{i}\n    prompt: A quiet street at dawn, shot {i}" + (f"\n    after: s{i - 1}" if i % 10
                                                                                      else ""))
    return "\n".join(rows) + "\n"


def misspelt_shots(count: int, keys: int) -> str:
    rows = [HEAD.split("shots:")[0] + "shots:"]
    for i in range(count):
        rows.append(f"  - id: s{i}\n    prompt: A street\n" + "".join(f"    promptt{k}: 1\n" for k in range(keys)))
    return "\n".join(rows)


def long_cycle(count: int) -> str:
    rows = [HEAD.split("shots:")[0] + "shots:"]
    rows += [f"  - id: s{i}\n    prompt: A street\n    after: s{(i - 1) % count}" for i in range(count)]
    return "\n".join(rows) + "\n"


def proc_mem(_: Path) -> Path:
    return Path("/proc/self/mem")  # a regular file by its mode, which no one may read


LONG = "x" * 300
SHOWN = 100  # problems listed before the count of the rest
CASES = [
    Case("alias bomb", text("alias-bomb.yaml", alias_bomb()), "aliases expand this file past"),
    Case("merge-key bomb", text("merge-bomb.yaml", merge_bomb()), "aliases expand this file past"),
    Case("500-deep flow nesting", text("deep.yaml", "version: 1\nshots: " + "[" * 500 + "]" * 500 + "\n"),
         "nested more than 32 levels", line=2),
    Case("500-deep block nesting", text("deep-block.yaml", deep_block(500)), "nested more than 32 levels"),
    Case("500-deep JSON", text("deep.json", '{"version": 1,\n"shots": ' + "[" * 500 + "]" * 500 + "}"),
         "nested more than 32 levels", line=2),
    Case("a megabyte of [", text("brackets.json", "[" * 1_000_000), "nested more than 32 levels", line=1),
    Case("lone surrogate", text("surrogate.yaml", HEAD.replace("An apple", '"a\\uD800b"')),
         "write the character itself", line=6),
    Case("lone surrogate in JSON", text("surrogate.json", '{"version": 1,\n "shots": [{"id": "a", "model": '
                                        '"dreamina-seedance-2-0-260128",\n "prompt": "a\\ud800b"}]}'),
         "lone surrogate", line=3),
    Case("non-UTF-8 byte", raw("latin1.yaml", HEAD.replace("An apple", "Une pomme caf\xe9").encode("latin-1")),
         "byte 0xe9 is not UTF-8", line=6),
    Case("NUL byte", raw("nul.yaml", HEAD.encode().replace(b"model:", b"mo\0del:")), "a NUL byte", line=3),
    Case("control character", raw("esc.yaml", HEAD.encode().replace(b"apple", b"ap\x1bple")), "U+001B", line=6),
    Case("PNG bomb", with_image(image_file("bomb.png", lambda: png(100_000, 100_000, bytes(4_000_000)))),
         "more pixels than any image the provider takes", line=IMAGE_LINE),
    Case("huge-dimension header", with_image(image_file("huge.png", lambda: png(2**31 - 1, 2**31 - 1, b""))),
         "first_frame", line=IMAGE_LINE),
    Case("truncated PNG", with_image(truncated_png), "damaged/truncated", line=IMAGE_LINE),
    Case("PNG with too little pixel data", with_image(image_file("short.png", lambda: png(640, 640, bytes(1000)))),
         "damaged/truncated", line=IMAGE_LINE),
    Case("FIFO as the storyboard", fifo("pipe.yaml"), "is a named pipe (FIFO)", line=1),
    Case("FIFO as an image", with_image(fifo("pipe.png")), "is a named pipe (FIFO)", line=IMAGE_LINE),
    Case("/dev/zero as the storyboard", device, "is a character device", line=1),
    Case("/dev/zero as an image", with_image(device), "is a character device", line=IMAGE_LINE),
    Case("a directory as the storyboard", folder_named("dir.yaml"), "is a directory", line=1),
    Case("a directory as an image", with_image(folder_named("dir.png")), "is a directory", line=IMAGE_LINE),
    Case("symlink loop as an image", with_image(symlink_loop), "first_frame", line=IMAGE_LINE),
    Case("300-character name", text("long-name.yaml", HEAD + f"name: {LONG}\n"), "1-100 chars", line=7),
    Case("300-character output name", text("long-output.yaml", HEAD + f"outputs:\n  {LONG}: [a]\n"),
         "1-100 chars", line=8),
    Case("300-character shot id", text("long-id.yaml", HEAD.replace("id: a", f"id: a{LONG}")), "1-63 chars",
         line=5),
    Case("device name as the run name", text("con-name.yaml", HEAD + "name: con\n"), "device name on Windows",
         line=7),
    Case("5,000-digit number", text("digits.yaml", HEAD + "    duration: " + "9" * 5000 + "\n"),
         "(5,000 characters)", line=7),
    Case("5,000-digit number in JSON", text("digits.json", '{"version": 1, "shots": [{"id": "a",\n"duration": '
                                            + "9" * 5000 + "}]}"), "(5,000 characters)", line=2),
    Case("30,000-character prompt", text("long-prompt.yaml", HEAD.replace("An apple", "word " * 6000)),
         "at most 20,000", line=6),
    Case("5,000-character path", text("long-path.yaml", HEAD + "    first_frame: " + "d/" * 2000 + "x.png\n"),
         "first_frame", line=7),
    Case("6 MB storyboard", text("huge.yaml", HEAD + "#" * 6_000_000 + "\n"), "larger than 4 MiB", line=1),
    Case("10,001 shots", text("too-many.yaml", many_shots(10_001)), "at most 10,000", line=5),
    Case("10,000 shots", text("ten-thousand.yaml", many_shots(10_000)), "valid: 10000 shots", may_pass=True),
    Case("40,000 unknown keys", text("misspelt.yaml", misspelt_shots(10_000, 4)), "unknown key 'promptt0' (did",
         line=7, lines=SHOWN + 1),
    Case("a cycle of 9,000 shots", text("cycle.yaml", long_cycle(9_000)), "(8,989 more)", line=7),
    Case("/proc/self/mem as an image", with_image(proc_mem), "could not be read", line=IMAGE_LINE),
    Case("escapes that make a terminal control character",
         text("escapes.yaml", HEAD + '    after: "x\\e[2J\\u202e\\ny"\n'), "'x\\x1b[2J\\u202e\\ny' names no shot",
         line=7),
    Case("a line separator in a prompt", text("separator.yaml", HEAD.replace("An apple", '"An\u2028apple\x85!"')
                                              + "    duration: 99\n"), "duration: 99", line=7),
    Case("a tag from Python", text("tag.yaml", HEAD + "    duration: !!python/name:os.system x\n"),
         "the tag !!python/name:os.system means nothing in a storyboard", line=7),
    Case("a duplicate key in JSON", text("duplicate.json", '{"version": 1, "shots": [{"id": "a",\n "model": '
                                         '"dreamina-seedance-2-0-260128",\n"prompt": "a", "prompt": "b"}]}'),
         "duplicate key 'prompt' (first set on line 3)", line=3),
]

WORKER = """
import contextlib, io, json, signal, sys, time
from orchestrator.cli.app import main

def alarm(signum, frame):
    raise TimeoutError("over the time limit")

signal.signal(signal.SIGALRM, alarm)
SECONDS_EACH = int(sys.argv[2])
results = []
for path in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    signal.alarm(SECONDS_EACH)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(["validate", path])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        code, err = -1, io.StringIO(f"{type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
    results.append({"path": path, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                    "seconds": time.monotonic() - start})
print(json.dumps(results))
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, object]]]:
    """Every case made, then checked in one child process under the memory limit."""
    folder = tmp_path_factory.mktemp("hostile")
    paths = {case.name: str(case.make(folder)) for case in CASES}
    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(list(paths.values())), str(SECONDS_EACH)], cwd=REPO,
                          capture_output=True, text=True, preexec_fn=_limit_memory,
                          timeout=SECONDS_EACH * len(CASES) + 60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    by_path = {r["path"]: r for r in json.loads(done.stdout)}
    yield {name: by_path[path] for name, path in paths.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_refused_in_one_located_line(case: Case, outcomes: dict[str, dict[str, object]]) -> None:
    result = outcomes[case.name]
    path, code, stderr, stdout = (str(result["path"]), result["code"], str(result["stderr"]), str(result["stdout"]))
    assert float(str(result["seconds"])) < SECONDS_EACH
    assert "internal error" not in stderr and "Traceback" not in stderr and code != -1, stderr
    if case.may_pass and code == 0:
        assert case.fragment in stdout, stdout[-500:]
        return
    assert code == 2, (code, stderr[-500:])
    lines = stderr.splitlines()
    assert len(lines) == case.lines, stderr[-2000:]
    where = re.match(rf"{re.escape(path)}:(\d+):(\d+): ", lines[0])
    assert where is not None, lines[0][:300]
    if case.line is not None:
        assert int(where.group(1)) == case.line, lines[0][:300]
    assert case.fragment in lines[0], lines[0][:500]
    assert len(lines[0]) < 400, "one readable line, not a dump of the input"
    assert all(c.isprintable() for c in stderr.replace("\n", "")), "a control character reached the terminal"
    if case.lines > SHOWN:
        assert lines[-1] == f"{path}: {10_000 * 4 - SHOWN:,} more problems not shown ({10_000 * 4 - SHOWN:,} errors, " \
            "0 warnings): fix the ones above and validate again", lines[-1]


def test_the_corpus_is_at_least_twenty_inputs() -> None:
    assert len(CASES) >= 20
