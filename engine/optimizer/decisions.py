"""Suggestion records and decisions: save, accept (apply the change, save a new version), reject."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from engine import records
from engine.optimizer.parallel import parallel_dsl
from engine.optimizer.settings import OptimizerError
from engine.workflow_file import RetryPolicy, WorkflowSpec

if TYPE_CHECKING:
    from engine.optimizer.report import OptimizationReport


def _now() -> datetime:
    return records.utc_now()


def get_record(store, suggestion_id: str) -> dict:
    """The latest row of one suggestion (an id or a unique prefix of one)."""
    rows = records.optimization_record(store, suggestion_id)
    if len(rows) > 1:
        raise OptimizerError(f"'{suggestion_id}' matches several suggestions; give more of the id")
    if not rows:
        raise OptimizerError(f"no optimization suggestion with id '{suggestion_id}'")
    return rows[0]


def list_records(store, workflow_id: str | None = None, status: str | None = None) -> list[dict]:
    """The latest row of every suggestion, optionally of one workflow and/or one status."""
    return records.optimization_records(store, workflow_id=workflow_id, status=status)


def _append(store, rec: dict, **changes) -> dict:
    row = {
        k: rec.get(k)
        for k in (
            "id",
            "workflow_id",
            "version",
            "optimization_type",
            "title",
            "description",
            "ai_reasoning",
            "evidence",
            "estimated_improvement",
            "implementation_effort",
            "priority",
            "proposed_changes",
            "status",
            "implemented_at",
            "implemented_version",
            "actual_improvement",
            "created_at",
        )
    }
    row.update(changes)
    row["updated_at"] = _now()
    row["seq"] = int(rec.get("seq") or 0) + 1
    store.append("optimization_records", row)
    return row


def save_suggestions(store, report: OptimizationReport) -> None:
    """Record new suggestions; refresh the evidence of ones still 'suggested'; never touch decided ones."""
    if not report.suggestions:
        return
    ids = [s.id for s in report.suggestions]
    existing = {r["id"]: r for r in records.optimization_records(store, ids=ids)}
    now = _now()
    for s in report.suggestions:
        old = existing.get(s.id)
        if old is not None and old["status"] != "suggested":
            s.status = old["status"]
            continue
        evidence = json.loads(json.dumps(s.evidence, default=str))
        if old is not None and old["evidence"] == evidence and old["title"] == s.title:
            continue
        store.append(
            "optimization_records",
            {
                "id": s.id,
                "workflow_id": s.workflow_id,
                "version": s.version,
                "optimization_type": s.optimization_type,
                "title": s.title,
                "description": s.description,
                "ai_reasoning": s.reasoning,
                "evidence": evidence,
                "estimated_improvement": s.estimated_improvement,
                "implementation_effort": s.implementation_effort,
                "priority": s.priority,
                "proposed_changes": s.proposed_changes,
                "status": "suggested",
                "implemented_at": None,
                "implemented_version": None,
                "actual_improvement": None,
                "created_at": old["created_at"] if old else now,
                "updated_at": now,
                "seq": int(old["seq"] or 0) + 1 if old else 1,
            },
        )


def apply_change(spec: WorkflowSpec, changes: dict) -> WorkflowSpec:
    """The spec with the proposed change applied (raises :class:`OptimizerError` when it no longer fits)."""
    kind = changes.get("kind")
    data = spec.model_dump(mode="json")
    if kind == "parallelize":
        data["dsl"] = parallel_dsl(spec, list(changes["states"]))
    elif kind in ("retry", "timeout"):
        state = changes["state"]
        if state not in spec.model.states:
            raise OptimizerError(f"'{state}' is not a state of '{spec.name}' any more")
        b = data["states"].setdefault(state, {"action": "noop"})
        if kind == "retry":
            b["retry"] = RetryPolicy(**changes["retry"]).model_dump(mode="json")
        else:
            b["timeout_s"] = float(changes["timeout_s"])
    else:
        raise OptimizerError(
            f"a '{kind}' suggestion needs a manual change: {changes.get('note', 'see its description')}"
        )
    new = WorkflowSpec.model_validate(data)
    rep = new.validate_all()
    if rep.errors:
        raise OptimizerError("the changed workflow does not validate: " + "; ".join(str(e) for e in rep.errors))
    return new


def accept(store, suggestion_id: str, *, note: str = "") -> dict:
    """Accept a suggestion. An automatic change is applied to the latest version and saved as a new version
    (status ``implemented``); a manual one is only marked ``accepted``."""
    rec = get_record(store, suggestion_id)
    if rec["status"] == "implemented":
        return {
            "id": rec["id"],
            "status": "implemented",
            "version": rec["implemented_version"],
            "message": f"already implemented as version {rec['implemented_version']}",
        }
    changes = rec["proposed_changes"] or {}
    if not changes.get("automatic"):
        _append(store, rec, status="accepted")
        return {
            "id": rec["id"],
            "status": "accepted",
            "version": None,
            "message": "accepted; this change is not automatic: " + changes.get("note", "see the description"),
        }
    from engine import library

    # the change applies to the version the suggestion was made for (the one on screen), not the latest;
    # changes already accepted from the same analysis stack (each accepted one builds on the previous)
    stacked = [
        int(r["implemented_version"])
        for r in list_records(store, rec["workflow_id"])
        if r["status"] == "implemented" and r.get("implemented_version") and int(r["version"]) == int(rec["version"])
    ]
    spec, meta = library.get_workflow(store, rec["workflow_id"], max(stacked, default=int(rec["version"])))
    new_spec = apply_change(spec, changes)
    wid, ver = library.save_workflow(
        store,
        new_spec,
        workflow_id=rec["workflow_id"],
        change_note=(note or f"optimization {rec['id']}: {rec['title']}"),
    )
    _append(store, rec, status="implemented", implemented_at=_now(), implemented_version=int(ver))
    return {
        "id": rec["id"],
        "status": "implemented",
        "workflow_id": wid,
        "version": int(ver),
        "base_version": int(rec["version"]),  # the version analysed: the baseline to compare with
        "built_from": int(meta.get("version") or rec["version"]),
        "dsl": new_spec.dsl,
        "message": f"saved as version {ver} of '{new_spec.name}' (built from version {meta['version']}); run it a "
        f"few times, then compare version {rec['version']} with version {ver}",
    }


def reject(store, suggestion_id: str) -> dict:
    """Mark a suggestion rejected (it is never proposed again for this version)."""
    rec = get_record(store, suggestion_id)
    _append(store, rec, status="rejected")
    return {"id": rec["id"], "status": "rejected"}
