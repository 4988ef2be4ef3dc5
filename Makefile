# handover: `make demo` runs the story on a local stack (`handover up --emulators`, left
# running: `handover down` stops it); `make test` runs the tests.
# Everything installs itself from requirements.lock into .venv (uv is installed with pip when missing).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

# Prefect runs fully offline and local: its home inside the project, no telemetry, and a
# generous start-up timeout for the ephemeral server on slow 2-core machines.
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: install demo test test-all bench lint format typecheck clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet uv
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/handover demo

# `make test` skips the tests marked slow (migrations through a running stack, the crash
# test: several minutes on 2 cores); `make test-all` runs them too.
test: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/query.py
	$(PY) benchmarks/backfill.py
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/migration.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .prefect .pytest_cache .mypy_cache .ruff_cache
