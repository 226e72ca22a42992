# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8501
export WORKBENCH_DB ?= data/workbench.duckdb

.PHONY: run test bench install clean ray-up ray-down lint fmt lint-baseline

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

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

ray-down:
	-$(BIN)/ray stop --force

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
