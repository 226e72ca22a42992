"""Two Ray nodes on this machine: states pinned to each node, user code shipped through the runtime env.

The module starts its OWN Ray head (its own temp dir and ports: the session's Ray is left alone) and a
second node with the custom resource ``node_b``, from a process whose PYTHONPATH does not name the
project and whose working directory is elsewhere. The driver is a separate process
(two_node_driver.py): it connects, then moves the workflow's function folder away, so the states can
only run with the code the engine shipped. Every process the module started is stopped by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from benchmarks.bench_cluster import free_ports, head_args, node_ports, start_node, stop_nodes
from ray_tasks import cluster

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
pytestmark = [pytest.mark.ray, pytest.mark.slow]  # its own two Ray nodes: 1.5-5 min on a loaded machine


def _node_env(cwd: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "WORKBENCH_", "PYTHON"))}
    env.update(RAY_USAGE_STATS_ENABLED="0", HOME=os.environ.get("HOME", str(cwd)))
    # a loaded 2-core machine: the raylet waits for its agents' port files longer than its default
    env.update(RAY_agent_register_timeout_ms="180000", RAY_raylet_start_wait_time_s="180")
    cluster.prepare_auth_env(env)
    return env


@pytest.fixture(scope="module")
def two_nodes():
    """(head address, temp root) of a head with node_a and a second node with node_b, 1 CPU each."""
    root = Path(tempfile.mkdtemp(prefix="wbc", dir="/tmp"))
    elsewhere = root / "cwd"
    elsewhere.mkdir()
    p = free_ports(20)
    common = ["--num-cpus=1", "--object-store-memory=80000000", "--disable-usage-stats"]
    try:
        start_node(
            head_args(p, "--resources", '{"node_a": 1}', *common),
            root / "h",
            p[5],
            env=_node_env(elsewhere),
            cwd=elsewhere,
        )
        address = f"127.0.0.1:{p[0]}"
        start_node(
            [f"--address={address}", *node_ports(p[10:16]), "--resources", '{"node_b": 1}', *common],
            root / "b",
            p[12],
            env=_node_env(elsewhere),
            cwd=elsewhere,
        )
        yield address, root
    finally:
        stop_nodes(str(root))
        shutil.rmtree(root, ignore_errors=True)


def _run_driver(address: str, tmp_path: Path, workflow: str, functions: Path) -> dict:
    wf = tmp_path / "wf.toml"
    wf.write_text(workflow)
    report = tmp_path / "report.json"
    env = dict(os.environ, RAY_ADDRESS=address, WORKBENCH_DB=str(tmp_path / "wb.duckdb"))
    env["WORKBENCH_FUNCTION_DIRS"] = os.pathsep.join([str(functions), os.environ.get("WORKBENCH_FUNCTION_DIRS", "")])
    env["WORKBENCH_DATA_DIRS"] = os.pathsep.join([str(tmp_path), os.environ.get("WORKBENCH_DATA_DIRS", "")])
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("two_node_driver.py")),
            str(report),
            str(tmp_path / "wb.duckdb"),
            str(functions),
            str(wf),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return json.loads(report.read_text())


def _node_of(report: dict, resource: str) -> str:
    return next(nid for nid, res in report["nodes"].items() if resource in res)


def test_states_pinned_to_each_node_run_there_with_shipped_code_and_share_a_parquet_artifact(two_nodes, tmp_path):
    """on_b (python) and totals_on_b (sql: CSV -> Parquet artifact) run on the second node, read_on_a on the
    head reads that artifact; the function folder is gone from disk while the run goes on."""
    address, _ = two_nodes
    functions = tmp_path / "team_functions"
    functions.mkdir()
    (functions / "team_steps.py").write_text(
        textwrap.dedent(
            """
            import os

            def where(context, label):
                return {label: {"pid": os.getpid(), "cwd": os.getcwd()}}

            def read_totals(context):
                import pyarrow.parquet as pq

                table = pq.read_table(context["totals"]["path"])
                return {"read_on_a": table.to_pylist()}
            """
        )
    )
    (tmp_path / "orders.csv").write_text("region,amount\nnorth,5\nsouth,7\nnorth,10\n")
    workflow = textwrap.dedent(
        """
        name = "Pinned to two nodes"
        dsl = "start->on_b; on_b->totals_on_b; totals_on_b->read_on_a; read_on_a->end;"

        [states.on_b]
        action = "python"
        function = "team_steps:where"
        params = { label = "b" }
        resources = { node_b = 1 }
        on_error = "abort"

        [states.totals_on_b]
        action = "sql"
        files = { orders = "orders.csv" }
        query = "SELECT region, CAST(sum(amount) AS INTEGER) AS total FROM orders GROUP BY 1 ORDER BY 1"
        output = "table"
        into = "totals"
        resources = { node_b = 1 }
        on_error = "abort"

        [states.read_on_a]
        action = "python"
        function = "team_steps:read_totals"
        resources = { node_a = 1 }
        on_error = "abort"
        num_cpus = 1
        """
    )
    report = _run_driver(address, tmp_path, workflow, functions)
    assert report["status"] == "completed", report
    steps = {s["from_state"]: s for s in report["steps"] if s["from_state"] != "start"}
    node_a, node_b = _node_of(report, "node_a"), _node_of(report, "node_b")
    assert steps["on_b"]["node_id"].endswith("/" + node_b), report
    assert steps["totals_on_b"]["node_id"].endswith("/" + node_b), report
    assert steps["read_on_a"]["node_id"].endswith("/" + node_a), report
    assert {s["executed_on"] for s in steps.values()} == {"ray"}
    assert report["context"]["read_on_a"] == [{"region": "north", "total": 15}, {"region": "south", "total": 7}]
    assert report["context"]["b"]["cwd"] != str(functions)
    assert sorted(r["steps"] for r in report["per_node"]) == [1, 2]  # time per node: 2 steps on b, 1 on a
