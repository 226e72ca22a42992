"""A workbench driver run as its own process against the two-node cluster of test_two_nodes.py.

argv: <report.json> <db> <functions dir> <workflow.toml>. Connects through RAY_ADDRESS (the engine ships
the function folders through the runtime env), then moves the functions folder away so that no node can
import it from the disk, runs the workflow and writes what the records say as JSON.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def main(report: str, db: str, functions: str, workflow: str) -> None:
    import ray

    from engine.executors import ray_executor
    from engine.runner import Engine
    from engine.store import Store
    from engine.workflow_file import load_workflow
    from ray_tasks import cluster

    cluster.connect()  # RAY_ADDRESS
    nodes = {
        n["NodeID"][:8]: sorted(k for k in n["Resources"] if k.startswith("node_"))
        for n in ray.nodes()
        if n.get("Alive")
    }
    hidden = Path(functions + ".moved")
    shutil.move(functions, hidden)  # the code now exists only in what the driver shipped
    store = Store(Path(db))
    engine = Engine(store=store, executor=ray_executor())
    try:
        result = engine.run(load_workflow(workflow), {"rows": [1, 2, 3]})
        store.flush()
        steps = store.query(
            "SELECT from_state, status, executed_on, node_id, error_message FROM state_transitions "
            "WHERE execution_id = ? ORDER BY timestamp",
            [result.execution_id],
        )
        per_node = __import__("engine.records", fromlist=["x"]).time_per_node(store, execution_id=result.execution_id)
        out = {
            "status": result.status,
            "error": result.error,
            "context": result.final_context,
            "nodes": nodes,
            "steps": [{k: (str(v) if v is not None else None) for k, v in s.items()} for s in steps],
            "per_node": [{"node": r["node"], "steps": int(r["steps"])} for r in per_node],
        }
    finally:
        shutil.move(hidden, functions)
        engine.shutdown()
        store.close()
    Path(report).write_text(json.dumps(out, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:5])
