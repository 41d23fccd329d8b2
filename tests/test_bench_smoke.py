"""`make bench-smoke`: every benchmark script runs on a tiny configuration and prints the table (the numbers
themselves live in BENCHMARKS.md; timing is not asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.long
def test_bench_smoke_prints_the_table_with_no_duplicate_create_and_a_zero_call_rerun() -> None:
    done = subprocess.run([sys.executable, "bench/table.py", "--smoke"], cwd=REPO, capture_output=True, text=True,
                          timeout=600, check=False)

    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in done.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| row")}
    assert rows["duplicate creates"] == "0"
    assert rows["duplicate creates, every provider behaviour at once"] == "0"
    assert rows["provider calls by rerunning a finished storyboard"] == "0"
    resume = next(line for line in done.stdout.splitlines() if "creates by resuming after SIGKILL" in line)
    made, wanted = resume.split("|")[2].strip(), resume.split("|")[3].split(":")[-1].strip()
    assert made == wanted
    assert float(rows["scale: peak RSS (MB)"].split()[0]) < 300  # median (min-max)
    assert len(rows) == 21
    drift = [v for name, v in rows.items() if name.startswith("drift: ")]
    assert len(drift) == 3 and all(float(v.split()[0]) >= 0 for v in drift)  # numbers, whatever the verdict
    verdicts = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in done.stdout.splitlines()
                if line.startswith("| ") and not line.startswith("| row")}
    assert verdicts["duplicate creates"] == verdicts["provider calls by rerunning a finished storyboard"] == "met"
    assert verdicts["duplicate creates, every provider behaviour at once"] == "met"
    assert verdicts["validation: alias bomb / 500-deep nesting refused (s)"] == "met"
    timing = [name for name in verdicts if name.startswith(("overhead:", "notice lag", "handoff lag", "film-ready",
                                                              "requests per shot", "our CPU", "against the SDK"))]
    assert len(timing) == 8
    for name in timing:  # a number measured, and a verdict that may be a miss, saying by how much and why
        assert re.match(r"\d+(\.\d+)?%? \(", rows[name]), (name, rows[name])
        assert verdicts[name] == "met" or re.match(r"missed by \d+%: \w", verdicts[name]), (name, verdicts[name])
    assert rows["scale: our CPU per shot (ms): the run and its ffmpeg checks"].split()[0].isdigit()
