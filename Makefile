# Everything runs from .venv, which the first target that needs it creates from nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-matrix lint bench bench-smoke clean help

help:
	@echo "make demo   - create .venv if needed, run storyboards/tea-ad.yaml on the built-in simulator"
	@echo "make test   - create .venv if needed, install, run the test suite"
	@echo "make test-matrix - the engine against every undocumented provider behaviour, with SIGKILLs (minutes)"
	@echo "make lint   - ruff and mypy (strict) on the package"
	@echo "make bench  - the benchmarks BENCHMARKS.md records (about 20 minutes)"
	@echo "make bench-smoke - the same scripts on a tiny configuration"
	@echo "make clean  - remove .venv and caches"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# --backend sim even when ARK_API_KEY is set: a demo never spends money.
demo: $(STAMP)
	$(BIN)/orchestrator run storyboards/tea-ad.yaml --backend sim

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-matrix: $(STAMP)
	$(BIN)/python -m pytest -q -m matrix

lint: $(STAMP)
	$(BIN)/ruff check orchestrator tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/table.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/table.py --smoke

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
