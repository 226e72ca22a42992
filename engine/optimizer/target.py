"""Which workflow version is analysed (name, file or spec -> id and version), its run figures and slots."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

from engine import records
from engine.analytics import workflow_ids
from engine.errors import WorkbenchError
from engine.optimizer.settings import OptimizerError
from engine.optimizer.statistics import _quantile, median
from engine.schema import FINISHED_STATUSES
from engine.workflow_file import WorkflowSpec

log = logging.getLogger("workbench.optimizer")


def parallel_slots() -> int:
    """How many states can run at once: the connected Ray cluster's CPUs, else WORKBENCH_RAY_CPUS, else
    the default a local cluster would get (max(2, cpu_count))."""
    cluster = sys.modules.get("ray_tasks.cluster")
    info = getattr(cluster, "_INFO", None) if cluster is not None else None
    if info is not None:
        try:
            cpus = int(info.resources.get("CPU", 0))
            if cpus > 0:
                return cpus
        except (TypeError, ValueError, AttributeError):
            pass
    env = os.environ.get("WORKBENCH_RAY_CPUS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(2, os.cpu_count() or 2)


@dataclass
class Target:
    """The workflow version whose records are analysed, with its spec."""

    workflow_id: str
    name: str
    version: int
    spec: WorkflowSpec


def _latest_version_with_runs(store, wid: str) -> int | None:
    return records.latest_version_with_runs(store, wid)


def load_spec(store, workflow_id: str, version: int | None) -> WorkflowSpec | None:
    """The spec of a saved version (the library), else the spec recorded with its latest run."""
    try:
        from engine import library

        spec, _meta = library.get_workflow(store, workflow_id, version)
        return spec
    except ImportError:
        pass
    except WorkbenchError:
        pass
    except Exception as exc:  # a half-finished library must not break analytics
        log.warning("library lookup failed: %s", exc)
    raw = records.recorded_spec(store, workflow_id, version)
    return WorkflowSpec.model_validate(raw) if raw else None


def resolve_target(store, workflow: str | WorkflowSpec, version: int | None = None) -> Target:
    """A workflow name or id, a path to a workflow file, or a spec -> the version whose records are analysed.

    For a file or spec the version is the one whose saved definition has the same DSL (newest first);
    otherwise the given version or the newest version that has finished runs.
    """
    spec: WorkflowSpec | None = None
    if isinstance(workflow, WorkflowSpec):
        spec = workflow
    elif str(workflow).endswith((".toml", ".dsl")) or os.path.sep in str(workflow):
        from engine.workflow_file import load_workflow

        spec = load_workflow(workflow)
    name = spec.name if spec is not None else str(workflow)
    ids = workflow_ids(store, name)
    if not ids:
        raise OptimizerError(
            f"no recorded runs of '{name}' yet: run it a few times first "
            f"(workbench run …), then ask for an optimization report"
        )
    if len(ids) > 1:  # several ids share the name: take the one run most recently
        wid = records.most_recently_run(store, list(ids)) or ids[0]
    else:
        wid = ids[0]
    if spec is not None and version is None:
        for ver in records.run_versions(store, wid):
            s = load_spec(store, wid, ver)
            if s is not None and s.dsl.strip() == spec.dsl.strip():
                version = ver
                break
        if version is None:
            raise OptimizerError(
                f"no recorded runs of this definition of '{name}' (its DSL differs from every "
                "version that has runs): run it a few times first"
            )
    if version is None:
        version = _latest_version_with_runs(store, wid)
        if version is None:
            raise OptimizerError(f"'{name}' has no recorded runs yet: run it a few times first")
    loaded = load_spec(store, wid, version)
    if loaded is None:
        if spec is None:
            raise OptimizerError(f"cannot find the definition of '{name}' version {version}")
        loaded = spec
    return Target(wid, loaded.name, int(version), loaded)


def completed_durations(rows: list[dict]) -> list[float]:
    """Durations (ms) of the completed runs among run outcomes (``records.run_outcomes`` rows)."""
    return [float(r["duration_ms"]) for r in rows if r["status"] == "completed" and r["duration_ms"] is not None]


def _run_stats(store, wid: str, version: int) -> dict:
    rows = records.run_outcomes(store, wid, version)
    finished = [r for r in rows if r["status"] in FINISHED_STATUSES]
    completed = completed_durations(rows)
    completed_runs = sum(1 for r in finished if r["status"] == "completed")
    p50 = median(completed)
    return {
        "runs": len(rows),
        "finished": len(finished),
        "completed": completed_runs,
        "failed": sum(1 for r in finished if r["status"] == "failed"),
        "success_rate": (completed_runs / len(finished)) if finished else None,
        "durations": completed,
        "median_ms": p50,
        "p50_ms": p50,
        "p95_ms": _quantile(completed, 0.95),
        "p99_ms": _quantile(completed, 0.99),
    }
