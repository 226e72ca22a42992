# Two commands for a fresh machine: `make run` and `make test`.
# the first of python3.11 / 3.12 / 3.13 on PATH (requires-python in pyproject.toml), or PY=/path/to/python
PY ?= $(firstword $(foreach v,3.11 3.12 3.13,$(shell command -v python$(v) 2>/dev/null)))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8501
export WORKBENCH_DB ?= data/workbench.duckdb

.PHONY: run test bench install clean ray-up ray-down lint fmt lint-baseline screenshots which-python check-python constraints

$(BIN)/python:
	@test -n "$(PY)" || { echo "no python3.11, python3.12 or python3.13 on PATH: install one or pass PY=/path/to/python" >&2; exit 1; }
	$(PY) -m venv $(VENV)

# which interpreter `make install` would create the venv with
which-python:
	@test -n "$(PY)" || { echo "no python3.11, python3.12 or python3.13 on PATH: install one or pass PY=/path/to/python" >&2; exit 1; }
	@echo $(PY)

# constraints.txt pins every installed version (a fresh install resolves the same versions); refresh it
# after changing dependencies in pyproject.toml
constraints: install
	$(BIN)/pip freeze --exclude-editable > constraints.txt

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e '.[test]' --constraint constraints.txt
	touch $(STAMP)

# a PY= given (command line or environment) must be the Python the existing .venv was made with
check-python: | $(BIN)/python
	@if [ "$(origin PY)" != "file" ]; then \
	  have=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  want=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])') || exit 1; \
	  if [ "$$have" != "$$want" ]; then \
	    echo "$(VENV) has Python $$have but PY=$(PY) is Python $$want: run \`make clean\` first" >&2; exit 1; \
	  fi; \
	fi

install: check-python $(STAMP)

# Starts a local Ray head outside the app (Ray dies with the thread that started it), unless
# RAY_ADDRESS points at a cluster; the workbench service on 127.0.0.1:$(SERVICE_PORT) in the background
# unless one answers there (pid and log in .run/; stop it with `python -m engine.service.launcher stop`),
# then serves the app on http://localhost:$(PORT), which launches runs through that service.
SERVICE_PORT ?= 8000
run: install
	@$(BIN)/python -m app.components.auth_gate  # refuses to serve beyond 127.0.0.1 without sign-in
	@$(BIN)/python -m ray_tasks.cluster ensure
	@$(BIN)/python -m engine.service.launcher ensure --port $(SERVICE_PORT)
	WORKBENCH_SERVER=http://127.0.0.1:$(SERVICE_PORT) $(BIN)/streamlit run app/main.py --server.port $(PORT)

ray-up: install
	@$(BIN)/python -m ray_tasks.cluster ensure

# stops only the Ray head `make run`/`make ray-up` started (recorded in .run/ray-head.json), never `ray stop`
ray-down:
	-$(BIN)/python -m ray_tasks.cluster stop

# the suite runs in TEST_WORKERS pytest processes (pytest-xdist, a module's tests stay in one process,
# each process starts its own local Ray once); TEST_WORKERS=0 runs it all in this one process
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# the browser tests that take the documentation's screenshots, writing them into docs/img/ (a plain
# `make test` writes them under tests/screenshots/docs/ and leaves docs/img/ as it is)
screenshots: install
	WORKBENCH_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser/test_analytics_views.py \
	  tests/browser/test_graph_usability.py tests/browser/test_template_gallery_browser.py \
	  tests/browser/test_run_states_browser.py $(PYTEST_ARGS)

# ruff (lint rules and formatting) over the repo, mypy over engine/ and ray_tasks/ (pyproject.toml
# [tool.ruff], [tool.mypy]). `make fmt` applies ruff's formatting and safe fixes.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# rewrites the per-module mypy baseline in pyproject.toml from what mypy reports now
lint-baseline: install
	$(BIN)/python .ci/mypy_baseline.py

bench: install
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache
