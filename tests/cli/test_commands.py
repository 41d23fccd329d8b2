"""The command line through its real entry point: exit codes, what goes to stdout and what to stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, STORYBOARDS, run_cli

EXAMPLES = sorted(STORYBOARDS.glob("*.yaml"))


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"tea-ad.yaml", "long-form-ad.yaml", "minimal.yaml"}


def test_validate_accepts_every_example() -> None:
    result = run_cli("validate", *EXAMPLES)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count(": valid: ") == len(EXAMPLES)


def test_validate_reports_every_file_and_exits_2_if_any_is_invalid(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nshots:\n  - id: a\n    prompt: x\n    model: dreamina-seedance-2-0-260128\n"
                   "    duration: 20\n", encoding="utf-8")
    result = run_cli("validate", STORYBOARDS / "minimal.yaml", bad)
    assert result.code == 2
    assert "minimal.yaml: valid" in result.stdout
    assert result.stderr == (f"{bad}:6:15: shots[0].duration: 20 is not allowed for dreamina-seedance-2-0-260128 "
                             "(4..15 or -1)\n")


def test_plan_shows_each_shot_and_the_totals() -> None:
    result = run_cli("plan", STORYBOARDS / "long-form-ad.yaml")
    assert result.code == 0, result.stderr
    for shot in ("orchard-open", "kitchen-pour", "ending-logo", "packshot"):
        assert shot in result.stdout
    assert "108,900" in result.stdout
    assert "Run total: 14 shots" in result.stdout
    assert "budget $25.00" in result.stdout


def test_plan_json_is_machine_readable() -> None:
    result = run_cli("plan", "--json", STORYBOARDS / "tea-ad.yaml")
    assert result.code == 0
    plan = json.loads(result.stdout)
    assert [s["id"] for s in plan["shots"]] == ["pick", "shake", "pour", "cup"]
    assert [s["parent"] for s in plan["shots"]] == [None, "pick", "shake", "pour"]
    assert plan["shots"][0]["tokens"] == 108_900
    assert plan["shots"][1]["tokens"] == 87_300
    assert plan["usd"] == pytest.approx(sum(s["usd"] for s in plan["shots"]), abs=0.01)
    assert plan["over_budget"] is False


def test_plan_over_budget_exits_3_after_showing_the_plan(tmp_path: Path) -> None:
    # --out: a `make demo` run in the checkout would otherwise be reused, and reusing costs nothing.
    result = run_cli("plan", STORYBOARDS / "tea-ad.yaml", "--budget", "1", "--out", tmp_path)
    assert result.code == 3
    assert "pick" in result.stdout
    assert result.stderr.startswith("orchestrator: planned cost $2.90 exceeds the budget of $1.00 (--budget)")


def test_plan_budget_from_the_storyboard(tmp_path: Path) -> None:
    path = tmp_path / "tight.yaml"
    path.write_text((STORYBOARDS / "minimal.yaml").read_text(encoding="utf-8") + "budget_usd: 0.5\n",
                    encoding="utf-8")
    result = run_cli("plan", "--json", path)
    assert result.code == 3
    assert json.loads(result.stdout)["over_budget"] is True
    assert f"budget_usd in {path}" in result.stderr


def test_bad_price_file_is_a_one_line_error(tmp_path: Path) -> None:
    prices = tmp_path / "p.yaml"
    prices.write_text("no-such-model: 3\n", encoding="utf-8")
    result = run_cli("plan", STORYBOARDS / "minimal.yaml", "--prices", prices)
    assert result.code == 2
    assert result.stderr.count("\n") == 1
    assert "no-such-model: not a known model" in result.stderr


@pytest.mark.parametrize(("fmt", "needle"), [("mermaid", "s0 --> s1"), ("dot", '"pick" -> "shake";')])
def test_graph_draws_chain_edges(fmt: str, needle: str) -> None:
    result = run_cli("graph", STORYBOARDS / "tea-ad.yaml", "--format", fmt)
    assert result.code == 0
    assert needle in result.stdout
    assert result.stdout.count("->") == 3
    assert "pick<br/>5s 720p" in result.stdout or "pick\\n5s 720p" in result.stdout


def test_mermaid_keeps_ids_that_differ_only_by_dash_and_underscore(tmp_path: Path) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text("version: 1\ndefaults: {model: dreamina-seedance-2-0-260128}\nshots:\n"
                    "  - {id: a-b, prompt: x}\n  - {id: a_b, after: a-b, prompt: y}\n", encoding="utf-8")
    result = run_cli("graph", path)
    assert result.code == 0
    assert 's0["a-b<br/>5s 720p"]' in result.stdout
    assert 's1["a_b<br/>5s 720p"]' in result.stdout
    assert "s0 --> s1" in result.stdout


def test_all_errors_at_once_across_structure_and_rules(tmp_path: Path) -> None:
    """A typo in one shot must not hide a bad duration in another, nor a dangling parent in a third."""
    path = tmp_path / "many.yaml"
    path.write_text(
        "version: 1\n"
        "defaults: {model: dreamina-seedance-2-0-260128}\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    durration: 5\n"
        "  - id: b\n"
        "    after: a\n"
        "    prompt: y\n"
        "    duration: 20\n"
        "  - id: c\n"
        "    after: zz\n"
        "    prompt: z\n"
        "assembly: {transition: wipe}\n",
        encoding="utf-8",
    )
    result = run_cli("validate", path)
    assert result.code == 2
    lines = result.stderr.splitlines()
    assert [line.split(": ")[0].rsplit(":", 2)[1] for line in lines] == ["6", "10", "12", "14"]
    assert "unknown key 'durration' (did you mean 'duration'?)" in lines[0]
    assert "shots[1].duration: 20 is not allowed" in lines[1]
    assert "shots[2].after: 'zz' names no shot" in lines[2]
    assert "assembly.transition: 'wipe' is not allowed" in lines[3]


def test_schema_is_json_schema_for_the_format() -> None:
    result = run_cli("schema")
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"version", "shots"}
    assert schema["$defs"]["Shot"]["additionalProperties"] is False


def test_usage_errors_exit_2() -> None:
    assert run_cli("plan").code == 2
    assert run_cli("graph", STORYBOARDS / "tea-ad.yaml", "--format", "svg").code == 2
    assert run_cli("no-such-command").code == 2


def test_missing_storyboard_is_one_line(tmp_path: Path) -> None:
    result = run_cli("plan", tmp_path / "nope.yaml")
    assert result.code == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}:1:1: cannot read the storyboard: file not found\n"


def test_installed_command_and_python_m_work() -> None:
    """The console script and `python -m orchestrator` are the same program."""
    env = {**os.environ, "NO_COLOR": "1"}
    script = Path(sys.executable).with_name("orchestrator")
    for argv in ([str(script)], [sys.executable, "-m", "orchestrator"]):
        done = subprocess.run([*argv, "validate", "storyboards/tea-ad.yaml"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("storyboards/tea-ad.yaml: valid: 4 shots")


@pytest.mark.parametrize(("flags", "message"), [
    (("--drop-reroll", "nosuch"), "--drop-reroll nosuch: no such shot in"),
    (("--reroll", "cup", "--drop-reroll", "cup"), "--reroll and --drop-reroll both name cup: choose one"),
])
def test_a_mistyped_run_flag_is_one_line_before_any_backend_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    flags: tuple[str, ...], message: str) -> None:
    monkeypatch.delenv("ARK_API_KEY", raising=False)
    result = run_cli("run", STORYBOARDS / "tea-ad.yaml", "--out", tmp_path, *flags)
    assert result.code == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and message in result.stderr
    assert not (tmp_path / ".simulator").exists()  # the built-in simulator never started
