"""The depth guard through the real command line: `validate` and `plan` print the warning once and still exit 0;
an invalid storyboard still exits 2."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

V20 = "dreamina-seedance-2-0-260128"
# a -> b -> c -> d -> e -> f: f is link 5, one past the default limit of 4.
SHOTS = "".join(f"  - {{id: {s}, prompt: x{f', after: {p}' if p else ''}}}\n"
                for s, p in zip("abcdef", ["", *"abcde"], strict=True))
WARNING = ("10:31: warning: shots[5].after: this shot is link 5 of a chain from 'a' (assembly.max_chain_links: 4): "
           "colour and detail drift link by link; give one of its shots a last_frame keyframe (the count restarts "
           "there), or start a new chain (a shot without after)")


def board(folder: Path, defaults: str = "") -> Path:
    path = folder / "chain.yaml"
    path.write_text(f"version: 1\ndefaults:\n  model: {V20}\n{defaults}shots:\n{SHOTS}", encoding="utf-8")
    return path


def test_validate_prints_the_warning_once_and_exits_0(tmp_path: Path) -> None:
    path = board(tmp_path)
    result = run_cli("validate", path)
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines() == [f"{path}:{WARNING}"]
    assert result.stdout.startswith(f"{path}: valid: 6 shots, 1 output(s), estimated ")


def test_plan_prints_the_warning_once_and_exits_0(tmp_path: Path) -> None:
    path = board(tmp_path)
    result = run_cli("plan", path, "--out", tmp_path / "runs")
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines() == [f"{path}:{WARNING}"]
    assert "Run total: 6 shots" in result.stdout  # the plan still follows


def test_validate_says_nothing_with_the_guard_off(tmp_path: Path) -> None:
    path = board(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "assembly:\n  max_chain_links: null\n", encoding="utf-8")
    result = run_cli("validate", path)
    assert (result.code, result.stderr) == (0, "")


def test_an_invalid_long_chain_still_exits_2_with_its_error(tmp_path: Path) -> None:
    path = board(tmp_path, defaults="  duration: 20\n")  # the chain moves down one line
    result = run_cli("validate", path)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:4:13: defaults.duration: 20 is not allowed for {V20} (4..15 or -1) "
        "(inherited by shots 'a', 'b', 'c', 'd', 'e' and 1 more)",
        f"{path}:{WARNING.replace('10:31', '11:31', 1)}",
    ]
