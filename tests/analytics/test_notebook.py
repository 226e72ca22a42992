"""notebooks/run_history.ipynb executes top to bottom against a fixture DB opened read-only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.analytics import utcnow
from tests.analytics.conftest import build_alpha

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "run_history.ipynb"


def _outputs(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_notebook_runs_on_the_records(store, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    build_alpha(store, base=utcnow() - timedelta(days=2))
    export = tmp_path / "export"
    from engine.cli.analytics_cmds import export_parquet

    export_parquet(store, export)
    monkeypatch.setenv("RUN_HISTORY_EXPORT", str(export))  # WORKBENCH_DB is the fixture's DB
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    text = _outputs(nb)
    assert str(store.path) in text
    assert "7 runs, success rate 66.7%" in text  # 4 completed of 6 finished, both workflows
    assert "ValueError" in text and "66.7" in text  # errors; auto-recovery 2 of 3
    assert "completed" in text and "runs" in text  # the export cell read the Parquet files
    kinds = {k for c in nb.cells for o in c.get("outputs", []) for k in o.get("data", {})}
    assert "application/vnd.plotly.v1+json" in kinds or "text/html" in kinds  # charts were produced
