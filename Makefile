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
# Tests keep Prefect's logging at WARNING; the demo's runs log INFO to the UI (the CLI keeps
# Prefect's lines off the terminal by itself).
TEST_ENV := PREFECT_LOGGING_LEVEL=$${PREFECT_LOGGING_LEVEL:-WARNING}

.PHONY: install demo test test-all bench lint format typecheck clean sf-cli chromium

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
# test: several minutes on 2 cores); `make test-all` runs them too. `make test` runs a process
# per core (at most 4), each test file whole in one of them: the tests wait on servers
# (the emulators, Prefect) more than they compute. `make test-all` (CI) runs them in one.
test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -m "not slow" -n auto --maxprocesses 4 --dist loadfile

test-all: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/query.py
	$(PY) benchmarks/backfill.py
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/migration.py
	$(PY) benchmarks/revoke.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The Salesforce CLI (`sf`), a second real client of the emulator (tests/emulators/sf_cli).
# Pinned here, not in a lock file: no committed file may name a package registry's host,
# and npm's lock records one for every package. The CLI needs Node >= 22.19 (its undici
# fails on Node 20), which npm's node-linux-<arch> package carries; both go under .tools/.
SF_CLI_VERSION := 2.146.3
SF_NODE_VERSION := 22.23.5
SF_NODE_PACKAGE := node-linux-$(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
SF_TOOLS := .tools/sf
SF_STAMP := $(SF_TOOLS)/.installed-cli-$(SF_CLI_VERSION)-node-$(SF_NODE_VERSION)

sf-cli: $(SF_STAMP)

$(SF_STAMP):
	@command -v npm >/dev/null || { echo "npm is missing: installing Debian's npm"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) \
		|| { echo "make sf-cli needs npm and could not install it (apt-get install npm)"; exit 1; }; }
	rm -rf $(SF_TOOLS) && mkdir -p $(SF_TOOLS)
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
		--prefix $(SF_TOOLS) $(SF_NODE_PACKAGE)@$(SF_NODE_VERSION) @salesforce/cli@$(SF_CLI_VERSION)
	@touch $@

# Debian's Chromium, driven by Playwright for Python through its executable path
# (tests/stack/test_browser.py): a browser download at run time is not possible here.
chromium:
	@command -v chromium >/dev/null || { echo "chromium is missing: installing Debian's chromium"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| { echo "make chromium needs apt-get install chromium (Debian)"; exit 1; }; }

clean:
	rm -rf $(VENV) .prefect .pytest_cache .mypy_cache .ruff_cache
