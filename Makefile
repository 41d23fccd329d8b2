# Everything runs from .venv, which the first target that needs it creates from nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Exact versions of everything installed (runtime, dev and the lock tool), for every platform: `make lock` refreshes it.
CONSTRAINTS := constraints.txt
PIP_VERSION := 26.3

.PHONY: demo test test-matrix test-ffmpeg lint bench bench-smoke lock clean help

help:
	@echo "make demo   - create .venv if needed, run storyboards/tea-ad.yaml on the built-in simulator"
	@echo "make test   - create .venv if needed, install, run the test suite"
	@echo "make test-matrix - the engine against every undocumented provider behaviour, with SIGKILLs, and the long tests"
	@echo "make test-ffmpeg - the assembly tests again on /usr/bin/ffmpeg (Debian 12's 5.1), and films compared"
	@echo "make lint   - ruff and mypy (strict) on the package"
	@echo "make bench  - the benchmarks BENCHMARKS.md records (about 20 minutes)"
	@echo "make bench-smoke - the same scripts on a tiny configuration"
	@echo "make lock   - refresh constraints.txt, the exact versions every install uses"
	@echo "make clean  - remove .venv and caches"

# uv (pinned in the constraints, installed by pip) installs the rest: the same versions as pip would, in a quarter
# of the time (about 20 s instead of 75 s for a fresh .venv), which make test's ten minutes need.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip==$(PIP_VERSION)'
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

# The newest releases pyproject.toml's floors allow, pinned; review the diff, run make test, commit constraints.txt.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[lock]'
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra lock --universal --python-version 3.11 --upgrade \
		--quiet -o $(CONSTRAINTS)

# --backend sim even when ARK_API_KEY is set: a demo never spends money.
demo: $(STAMP)
	$(BIN)/orchestrator run storyboards/tea-ad.yaml --backend sim

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-matrix: $(STAMP)
	$(BIN)/python -m pytest -q -m 'matrix or long'

# The assembly, the capability check and the e2e tests that check films (less the 14-shot one: 90 s more, nothing
# new for ffmpeg) on the system's ffmpeg, chosen as a user would choose it, plus the films of both builds compared.
# Needs /usr/bin/ffmpeg (apt-get install ffmpeg): without it this fails, it never skips.
SYSTEM_FFMPEG := /usr/bin/ffmpeg
test-ffmpeg: $(STAMP)
	@test -x $(SYSTEM_FFMPEG) || { echo "make test-ffmpeg: $(SYSTEM_FFMPEG) is missing; install it first (Debian:" \
		"apt-get install ffmpeg)" >&2; exit 1; }
	ORCHESTRATOR_FFMPEG=$(SYSTEM_FFMPEG) $(BIN)/python -m pytest -q -m 'not matrix' -k 'not long_form' \
		tests/assembly tests/e2e/test_ffmpeg_refusal.py tests/e2e/test_assemble_cmd.py tests/e2e/test_run.py \
		tests/e2e/test_delivery.py tests/e2e/test_animatic.py tests/export

lint: $(STAMP)
	$(BIN)/ruff check orchestrator tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/table.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/table.py --smoke

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
