"""Usage errors are one line, `orchestrator CMD: reason; see orchestrator CMD --help`, exit 2 (not typer's boxed,
multi-line panel); help, --version and the exit codes commands choose still work as before."""

from __future__ import annotations

import pytest

from orchestrator import __version__
from tests.conftest import STORYBOARDS, CliResult, run_cli

TEA = STORYBOARDS / "tea-ad.yaml"


def one_error(result: CliResult) -> str:
    """The single line on stderr; nothing on stdout."""
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stderr.endswith("\n")
    return lines[0]


@pytest.mark.parametrize(("args", "line"), [
    (["run", "--bugdet", "3", TEA],
     "orchestrator run: no such option '--bugdet' (did you mean '--budget'?); see orchestrator run --help"),
    (["plan", TEA, "--jsn"],
     "orchestrator plan: no such option '--jsn' (did you mean '--json'?); see orchestrator plan --help"),
    (["--bogus"], "orchestrator: no such option '--bogus'; see orchestrator --help"),
    (["run"], "orchestrator run: missing argument 'files'; see orchestrator run --help"),
    (["validate"], "orchestrator validate: missing argument 'files'; see orchestrator validate --help"),
    (["graph", TEA, "--format", "png"],
     "orchestrator graph: invalid value for '--format': 'png' is not one of 'mermaid', 'dot'; "
     "see orchestrator graph --help"),
    (["plan", TEA, "--region", "mars"],
     "orchestrator plan: invalid value for '--region': 'mars' is not one of 'byteplus', 'volcengine'; "
     "see orchestrator plan --help"),
    (["run", TEA, "--budget"],
     "orchestrator run: option '--budget' requires an argument; see orchestrator run --help"),
    (["graph", TEA, "extra.yaml"],
     "orchestrator graph: got unexpected extra argument(s) (extra.yaml); see orchestrator graph --help"),
    (["runn", TEA], "orchestrator: no such command 'runn' (did you mean 'run'?); see orchestrator --help"),
    (["valdate", TEA], "orchestrator: no such command 'valdate' (did you mean 'validate'?); see orchestrator --help"),
    (["frobnicate"], "orchestrator: no such command 'frobnicate'; see orchestrator --help"),
], ids=["option-close-match", "option-close-match-plan", "option-unknown-root", "missing-argument",
        "missing-arguments", "bad-choice", "bad-region", "option-without-value", "extra-argument",
        "command-close-match", "command-close-match-2", "command-unknown"])
def test_a_usage_error_is_one_line_with_the_command_and_where_to_look_exit_2(args: list[str], line: str) -> None:
    result = run_cli(*args)

    assert result.code == 2, result.stderr
    assert one_error(result) == line


def test_a_number_out_of_range_names_the_option_and_the_bound() -> None:
    result = run_cli("run", TEA, "--concurrency", "0")

    assert result.code == 2
    line = one_error(result)
    assert line.startswith("orchestrator run: invalid value for '--concurrency': ")
    assert "greater than or equal to 1" in line and line.endswith("; see orchestrator run --help")


def test_help_is_still_the_full_help_and_exits_0() -> None:
    root = run_cli("--help")
    command = run_cli("run", "--help")

    assert (root.code, command.code) == (0, 0)
    assert root.stderr == command.stderr == ""
    assert "Usage: orchestrator [OPTIONS] COMMAND" in root.stdout and len(root.stdout.splitlines()) > 10
    assert "--budget" in command.stdout and len(command.stdout.splitlines()) > 10


def test_no_arguments_prints_the_help_as_before() -> None:
    result = run_cli()

    assert result.code == 2  # click's no_args_is_help exit code, unchanged
    assert "Usage: orchestrator [OPTIONS] COMMAND" in result.stdout
    assert result.stderr == ""


def test_version_and_the_exit_codes_commands_choose_still_work() -> None:
    version = run_cli("--version")
    schema = run_cli("schema")
    invalid = run_cli("validate", STORYBOARDS / "does-not-exist.yaml")  # the command raises typer.Exit(2) itself

    assert (version.code, version.stdout.strip()) == (0, f"orchestrator {__version__}")
    assert schema.code == 0 and schema.stdout.startswith("{")
    assert invalid.code == 2 and "Traceback" not in invalid.stderr


def test_a_bad_setting_in_the_environment_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_MAX_ATTEMPTS", "many")

    result = run_cli("plan", TEA)

    assert result.code == 2
    assert one_error(result).startswith("orchestrator: ORCHESTRATOR_MAX_ATTEMPTS: ")
