"""Typed inputs refused at every door: the API (422 naming the field) and the CLI (exit 2 naming it),
with nothing started; good input starts with the defaults applied."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]

TYPED = """
name = "Typed inputs"
dsl = "start->a; a->end;"
[inputs.region]
type = "string"
required = true
enum = ["eu", "us"]
[inputs.limit]
type = "integer"
default = 10
max = 100
"""

USES_SECRET = """
name = "Needs a secret"
dsl = "start->a; a->end;"
[states.a]
action = "http"
url = "https://example.com/?k={secret:INPUTS_TEST_UNDEFINED}"
allowed_hosts = ["example.com"]
"""


@pytest.fixture(scope="module")
def served():
    tmp = Path(tempfile.mkdtemp(prefix="wb-inputs-"))
    env = {"WORKBENCH_SECRETS_FILE": str(tmp / "none.toml")}
    srv = start_server(tmp, env, args=["--no-ray"], ready_path="/health")
    yield srv
    stop_server(srv)
    shutil.rmtree(tmp, ignore_errors=True)


def _create(srv, toml: str) -> str:
    r = httpx.post(srv.url + "/api/v1/workflows", json={"toml": toml}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()["workflow_id"]


def _runs(srv, wid) -> int:
    return len(httpx.get(srv.url + "/api/v1/executions", params={"workflow": wid}, timeout=30).json()["executions"])


@pytest.mark.parametrize(
    "context,field",
    [({}, "region"), ({"region": "mars"}, "region"), ({"region": "eu", "limit": 1000}, "limit")],
)
def test_api_refuses_bad_input_with_422_naming_the_field(served, context, field):
    wid = _create(served, TYPED)
    r = httpx.post(f"{served.url}/api/v1/workflows/{wid}/execute", json={"initial_context": context}, timeout=60)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and f"input '{field}'" in err["message"]
    assert err["details"][0]["field"] == field
    assert _runs(served, wid) == 0
    spec = httpx.get(f"{served.url}/api/v1/workflows/{wid}", timeout=30).json()
    assert "region" in json.dumps(spec)  # the inputs are kept with the version


def test_api_refuses_a_run_whose_secret_is_undefined_before_it_starts(served):
    wid = _create(served, USES_SECRET)
    r = httpx.post(f"{served.url}/api/v1/workflows/{wid}/execute", json={"initial_context": {}}, timeout=60)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "missing_secret" and "INPUTS_TEST_UNDEFINED" in err["message"]
    assert "WORKBENCH_SECRET_INPUTS_TEST_UNDEFINED" in err["message"]
    assert _runs(served, wid) == 0


def _cli(args, tmp_path):
    env = dict(os.environ, WORKBENCH_DB=str(tmp_path / "w.duckdb"), PYTHONPATH=str(ROOT))
    env["WORKBENCH_SECRETS_FILE"] = str(tmp_path / "none.toml")
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_cli_exits_2_naming_the_field_and_applies_defaults(tmp_path):
    wf = tmp_path / "typed.toml"
    wf.write_text(TYPED)
    bad = _cli(["run", str(wf), "--context", '{"region": "eu", "limit": "lots"}', "--execution", "inline"], tmp_path)
    assert bad.returncode == 2, bad.stderr
    assert "input 'limit'" in bad.stderr and "Traceback" not in bad.stderr
    good = _cli(["run", str(wf), "--context", '{"region": "eu"}', "--execution", "inline", "--json"], tmp_path)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["final_context"]["limit"] == 10


def test_cli_refuses_an_undefined_secret_before_the_run(tmp_path):
    wf = tmp_path / "secret.toml"
    wf.write_text(USES_SECRET)
    p = _cli(["run", str(wf), "--execution", "inline"], tmp_path)
    assert p.returncode == 1 and "INPUTS_TEST_UNDEFINED" in p.stderr and "Traceback" not in p.stderr
    assert "start -> a" not in p.stderr  # refused before any state ran
