# `make run` and `make test` work on a fresh machine: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# compiled kernels, in a subfolder named after the kernels' sources (sim/kernels/__init__.py)
NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export NUMBA_CACHE_DIR

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench clean demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-classroom: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[classroom]"
	$(BIN)/python -m sim.classroom.assets
	touch $(VENV)/.installed $@

# the browser tests drive Debian's Chromium (never `playwright install`)
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -m sim.classroom.assets
	command -v chromium >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)
	touch $(VENV)/.installed $(VENV)/.installed-classroom $@

run: $(VENV)/.installed
	$(BIN)/python run.py scenarios/baseline.yaml

demo: $(VENV)/.installed-classroom
	$(BIN)/python run.py demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Benchmarks (never part of `test`): about 6 minutes on 2 cores, plus the baseline's posterior
# calibration at the size docs/uncertainty.md uses (900 runs: about half an hour);
# `make bench QUICK=1` for a rough pass that writes benchmarks/results/quick.json instead.
bench: $(VENV)/.installed-test   # the classroom figures need the dashboard and Chromium
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache sim/kernels/__pycache__/numba-*
