"""Validation benchmark: a 10,000-shot storyboard (chains of ten) checked in full, and hostile files refused.

Prints one JSON object: seconds for `check_file` on the big storyboard (read, parse, graph, every rule), for the
whole `orchestrator validate` command (Python start included), and for the refusal of a YAML alias bomb and of a
500-deep nesting, with the command's peak RSS.

    .venv/bin/python bench/validation.py --shots 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.storyboard.validate import check_file


def storyboard(shots: int) -> str:
    """`shots` shots in chains of ten, one-line prompts."""
    rows = ["version: 1", "defaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, duration: 5}", "shots:"]
    for i in range(shots):
        after = f"\n    after: s{i - 1}" if i % 10 else ""
        rows.append(f"  - id: s{i}\n    prompt: A quiet street at dawn, shot {i}, the camera drifts{after}")
    return "\n".join(rows) + "\n"


def alias_bomb() -> str:
    """The ten-line 'billion laughs': 9^9 values once its aliases are expanded."""
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    rows += [f"{n}: &{n} [{','.join(['*' + p] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
    return "version: 1\n" + "\n".join(rows) + "\nshots: *i\n"


def command_seconds(path: Path) -> tuple[float, int]:
    """Wall seconds and exit code of `orchestrator validate PATH` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "validate", str(path)], capture_output=True,
                          check=False)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-validation-"))
    big = folder / "big.yaml"
    big.write_text(storyboard(args.shots), encoding="utf-8")
    bomb = folder / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    deep = folder / "deep.yaml"
    deep.write_text("version: 1\nshots: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    start = time.perf_counter()
    checked = check_file(big)
    check_s = time.perf_counter() - start
    validate_s, validate_code = command_seconds(big)
    bomb_s, bomb_code = command_seconds(bomb)
    deep_s, deep_code = command_seconds(deep)
    print(json.dumps({
        "shots": len(checked.specs), "check_file_s": check_s, "validate_s": validate_s, "validate_code": validate_code,
        "bomb_s": bomb_s, "bomb_code": bomb_code, "deep_s": deep_s, "deep_code": deep_code,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
