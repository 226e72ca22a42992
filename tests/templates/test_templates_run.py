"""The template gallery (issue 16): every template in data/templates runs end to end, offline, on the
shipped sample data, on the session's real local Ray — approvals answered like a person would — and
ends the way its description says."""

from __future__ import annotations

import csv
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.workflow_file import load_workflow

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"


@dataclass
class Scenario:
    """One run of a template: its initial context, the answers a person gives, and what must hold."""

    template: str
    context: dict
    check: Callable[[dict, list[str], Path], None]
    answers: dict[str, str] = field(default_factory=dict)
    label: str = ""


def _csv_rows(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _order_happy(ctx, visited, tmp):
    assert ctx["payment_success"] is True and ctx["amount_charged"] == 37.5
    assert visited[-3:-1] == ["send_confirmation", "notify_fulfillment"]


def _order_partial(ctx, visited, tmp):
    assert "wait_customer_decision" in visited and ctx["reserved_quantity"] == 8 and ctx["payment_success"]


def _request_ok(ctx, visited, tmp):
    assert ctx["is_valid"] and ctx["reference"] == "REQ-00001" and "send_notification" in visited


def _request_bad(ctx, visited, tmp):
    assert not ctx["is_valid"] and "unknown currency XYZ" in ctx["error_log"] and "send_rejection" in visited
    assert "amount must be between 0 and 10000" in ctx["error_log"]


def _tickets_urgent(ctx, visited, tmp):
    assert ctx["urgency"] == "high" and ctx["tracking"]["assignee"] == "senior-support"
    assert "notify_escalation" in visited and "check_knowledge_base" not in visited


def _tickets_kb(ctx, visited, tmp):
    assert ctx["kb_article"] == "KB1" and ctx["approved"] is True
    assert ctx["tracking"]["resolution"] == "solved by KB1" and "mark_resolved" in visited


def _cicd_green(ctx, visited, tmp):
    assert ctx["production_image"] == "registry.local/app:a1b2c3d"
    assert ctx["deployed_to"] == ["staging", "production"] and visited[-2] == "deploy_production"


def _cicd_unit_fail(ctx, visited, tmp):
    assert ctx["unit_pass"] is False and "build_image" not in visited
    assert "unit_pass" in ctx["messages_sent"][-1] and visited[-2] == "notify_failure"


def _etl_clean(ctx, visited, tmp):
    assert ctx["schema_ok"] and ctx["completeness_ok"] and ctx["values_ok"]
    out = _csv_rows(ctx["loaded_file"]["path"])
    assert Path(ctx["loaded_file"]["path"]).parent == tmp
    total = sum(float(r["amount"]) for r in _csv_rows(str(TEMPLATES.parent / "samples" / "sales.csv")))
    assert abs(sum(float(r["revenue"]) for r in out) - total) < 0.1
    assert "quarantine_batch" not in visited


def _etl_dirty(ctx, visited, tmp):
    assert ctx["quarantined"] and set(ctx["failed_gates"]) == {"completeness_ok", "values_ok"}
    assert "load_warehouse" not in visited and "quarantined" in ctx["messages_sent"][-1]
    assert not list(tmp.glob("*.csv"))


def _ml(ctx, visited, tmp):
    rmses = {n: ctx[n]["rmse"] for n in ("linear_model", "polynomial_model", "knn_model")}
    assert len({*rmses.values()}) == 3 and ctx["best_model"] == min(rmses, key=rmses.get)
    assert ctx["deployed_model"] == ctx["best_model"] and Path(ctx["deployed_path"]).parent == tmp
    assert {"train_linear_model", "train_polynomial_model", "train_knn_model"} <= set(visited)


def _ml_strict(ctx, visited, tmp):
    assert ctx["deployed_model"] is None and "keep_current_model" in visited and not list(tmp.iterdir())


def _triage_urgent(ctx, visited, tmp):
    assert ctx["llm_triage_provider"] == "offline" and ctx["llm_triage"]["offline"] is True
    assert ctx["triaged_by"].startswith("keyword rules") and ctx["urgency"] == "high"
    assert visited[-2] == "page_support_lead"


def _triage_billing(ctx, visited, tmp):
    assert ctx["topic"] == "billing" and ctx["assignee"] == "billing" and visited[-2] == "route_to_billing"


def _invoice_approved(ctx, visited, tmp):
    assert "manager_approval" in visited and ctx["paid"] is True and ctx["paid_amount"] == 4200.0
    assert ctx["payment_reference"] in ctx["messages_sent"][-1]


def _invoice_declined(ctx, visited, tmp):
    assert ctx["paid"] is False and "pay_invoice" not in visited
    assert ctx["rejection_reasons"] == ["the manager declined"]


def _invoice_bad_vendor(ctx, visited, tmp):
    assert "manager_approval" not in visited and ctx["paid"] is False
    assert "vendor is not on the approved list" in ctx["rejection_reasons"]


def _onboarding(ctx, visited, tmp):
    assert ctx["access"] == "full" and ctx["laptop"] == "workstation-16" and ctx["payroll_start"] == "2026-12-08"
    assert ctx["login"] == "nora.jensen" and "Welcome Nora Jensen" in ctx["messages_sent"][-1]


def _onboarding_restricted(ctx, visited, tmp):
    assert ctx["access"] == "restricted" and "grant_restricted_access" in visited


def _incident_critical(ctx, visited, tmp):
    assert ctx["incident"] == {
        "id": "INC-A1",
        "service": "payments",
        "channel": "#inc-payments-a1",
        "paged": "on-call",
        "status": "open",
    }
    assert "add_to_daily_digest" not in visited and ctx["postmortem"].startswith("# INC-A1")


def _incident_digest(ctx, visited, tmp):
    assert ctx["digest"] == ["Nightly report finished late"] and "page_on_call_engineer" not in visited


def _content_ok(ctx, visited, tmp):
    assert ctx["published"] and ctx["published_url"].endswith("/ten-tips-for-better-sleep")


def _content_tone(ctx, visited, tmp):
    assert not ctx["published"] and ctx["failed_checks"] == ["tone"] and "publish_article" not in visited


def _shipment_delivered(ctx, visited, tmp):
    assert ctx["delivered"] and ctx["checks"] == 3 and visited.count("wait_next_check") == 2
    assert ctx["messages_sent"] == ["Ada Lovelace: your parcel JD014600006281 (DHL) was delivered"]


def _shipment_lost(ctx, visited, tmp):
    assert not ctx["delivered"] and ctx["checks"] == 2 and visited[-2] == "open_support_case"
    assert ctx["support_case"].startswith("CASE-") and "not delivered after 2 checks" in ctx["messages_sent"][0]


def _shipment_at_once(ctx, visited, tmp):
    assert ctx["delivered"] and "wait_next_check" not in visited


def _refund_auto(ctx, visited, tmp):
    assert ctx["refunded"] and "supervisor_approval" not in visited and ctx["refunded_amount"] == 37.5


def _refund_supervisor(ctx, visited, tmp):
    assert "supervisor_approval" in visited and ctx["refunded"] and ctx["refunded_amount"] == 400.0


def _refund_late(ctx, visited, tmp):
    assert not ctx["refunded"] and ctx["denial_reason"] == "outside the return window"


def _kpi(ctx, visited, tmp):
    (row,) = _csv_rows(ctx["report_file"]["path"])
    assert Path(ctx["report_file"]["path"]) == tmp / "kpi_2026-06-01.csv"
    sales = [r for r in _csv_rows(str(TEMPLATES.parent / "samples" / "sales.csv")) if r["date"] >= "2026-06-01"]
    assert int(row["orders"]) == len(sales) and row["top_product"] in ctx["kpi_summary"]
    assert abs(float(row["revenue"]) - sum(float(r["amount"]) for r in sales)) < 0.1


def _webhook(ctx, visited, tmp):
    assert ctx["urgency"] == "high" and ctx["tracking"]["assignee"] == "senior-support"


def _file_drop_ok(ctx, visited, tmp):
    assert ctx["accepted"] and ctx["verdict"] == "orders.csv: 8 rows accepted" and ctx["columns_ok"]
    assert visited[-2] == "notify_data_team"


def _file_drop_bad(ctx, visited, tmp):
    assert not ctx["accepted"] and ctx["missing_columns"] == ["order_id"]


def _data_quality(ctx, visited, tmp):
    assert ctx["row_count"] == 500 and {"publish_dataset", "quarantine_dataset"} & set(visited)


def _sales(ctx, visited, tmp):
    assert ctx["top_region"] in {"north", "south", "east", "west"} and ctx["total_revenue"] > 0


SCENARIOS = [
    Scenario("order_processing", {"order_id": 1}, _order_happy, label="happy"),
    Scenario("order_processing", {"order_id": 3}, _order_partial, {"wait_customer_decision": "yes"}, "partial"),
    Scenario("request_validation", {"request_id": 1}, _request_ok, label="valid"),
    Scenario("request_validation", {"request_id": 5}, _request_bad, label="invalid"),
    Scenario("support_tickets", {"ticket_id": 1}, _tickets_urgent, label="urgent"),
    Scenario("support_tickets", {"ticket_id": 2}, _tickets_kb, {"wait_customer_feedback": "yes"}, "kb"),
    Scenario("cicd_pipeline", {"commit": "a1b2c3d"}, _cicd_green, {"wait_approval": "yes"}, "green"),
    Scenario("cicd_pipeline", {"commit": "c3d4e5f"}, _cicd_unit_fail, label="unit-fail"),
    Scenario("etl_quality_gates", {"output_dir": "{tmp}"}, _etl_clean, label="clean"),
    Scenario("etl_quality_gates", {"batch": "sales_bad.csv", "output_dir": "{tmp}"}, _etl_dirty, label="dirty"),
    Scenario("ml_train_compare_deploy", {"registry_dir": "{tmp}"}, _ml, label="deploy"),
    Scenario("ml_train_compare_deploy", {"registry_dir": "{tmp}", "max_rmse": 1.0}, _ml_strict, label="keep"),
    Scenario("support_triage_llm", {"ticket_id": 1}, _triage_urgent, label="urgent"),
    Scenario("support_triage_llm", {"ticket_id": 3}, _triage_billing, label="billing"),
    Scenario("invoice_approval", {"invoice_id": "INV-101"}, _invoice_approved, {"manager_approval": "yes"}, "yes"),
    Scenario("invoice_approval", {"invoice_id": "INV-103"}, _invoice_declined, {"manager_approval": "no"}, "no"),
    Scenario("invoice_approval", {"invoice_id": "INV-102"}, _invoice_bad_vendor, label="vendor"),
    Scenario(
        "employee_onboarding",
        {"employee_id": "E1", "start_date": "2026-12-08"},
        _onboarding,
        {"manager_approval": "yes"},
        "full",
    ),
    Scenario(
        "employee_onboarding", {"employee_id": "E2"}, _onboarding_restricted, {"manager_approval": "no"}, "restricted"
    ),
    Scenario("incident_response", {"alert_id": "A1"}, _incident_critical, label="critical"),
    Scenario("incident_response", {"alert_id": "A4"}, _incident_digest, label="digest"),
    Scenario("content_review", {"article_id": 1}, _content_ok, label="publish"),
    Scenario("content_review", {"article_id": 2}, _content_tone, label="editor"),
    Scenario("refund_handling", {"refund_id": "R1"}, _refund_auto, label="auto"),
    Scenario("refund_handling", {"refund_id": "R2"}, _refund_supervisor, {"supervisor_approval": "yes"}, "sup"),
    Scenario("refund_handling", {"refund_id": "R3"}, _refund_late, label="late"),
    Scenario("shipment_tracking", {"shipment_id": "S1", "check_every_s": 0.5}, _shipment_delivered, label="poll"),
    Scenario(
        "shipment_tracking", {"shipment_id": "S2", "check_every_s": 0.5, "max_checks": 2}, _shipment_lost, label="lost"
    ),
    Scenario("shipment_tracking", {"shipment_id": "S3"}, _shipment_at_once, label="at-once"),
    Scenario("daily_kpi_report", {"since": "2026-06-01", "output_dir": "{tmp}"}, _kpi),
    Scenario(
        "webhook_ticket_triage",
        {"subject": "Site is down", "body": "Nobody can log in, urgent", "customer": "Ada", "plan": "pro"},
        _webhook,
    ),
    Scenario("file_drop_quality", {}, _file_drop_ok, label="accepted"),
    Scenario(
        "file_drop_quality",
        {"file": {"path": "data/samples/orders.csv", "name": "orders.csv"}, "required_columns": ["order_id"]},
        _file_drop_ok,
        label="column-present",
    ),
    Scenario(
        "file_drop_quality",
        {"file": {"path": "data/samples/sales.csv", "name": "sales.csv"}, "required_columns": ["order_id"]},
        _file_drop_bad,
        label="rejected",
    ),
    Scenario("data_quality", {}, _data_quality),
    Scenario("sales_report", {}, _sales),
]


def _fill_tmp(value, tmp: Path):
    if isinstance(value, dict):
        return {k: _fill_tmp(v, tmp) for k, v in value.items()}
    return str(tmp) if value == "{tmp}" else value


def _run(engine, spec, context: dict, answers: dict[str, str], timeout: float = 60.0):
    """Start a run and answer each approval it asks for from ``answers`` until it ends."""
    eid = engine.start(spec, context)
    deadline = time.monotonic() + timeout
    asked: list[str] = []
    while time.monotonic() < deadline:
        row = engine.execution_row(eid) or {}
        if row.get("status") == "waiting":
            reqs = engine.store.query(  # a wait step's timer asks nobody
                "SELECT state FROM human_requests WHERE execution_id = ? AND status = 'open' AND kind <> 'timer'", [eid]
            )
            for r in reqs:
                if r["state"] not in asked:
                    assert r["state"] in answers, f"the run asked '{r['state']}', which the scenario does not answer"
                    engine.answer(eid, r["state"], answers[r["state"]], by="test")
                    asked.append(r["state"])
        if engine.execs.get(eid) is None or engine.execs[eid].done.done():
            break
        time.sleep(0.05)
    res = engine.wait(eid, timeout=max(1.0, deadline - time.monotonic()))
    return res, asked


@functools.cache
def _template(tid: str):
    """The template's spec, parsed and validated once per module (scenarios share it; runs never mutate it)."""
    return load_workflow(TEMPLATES / f"{tid}.toml")


@pytest.fixture(scope="module")
def shared_engine(ray_cluster, tmp_path_factory):
    """One Engine and Store for all the scenarios of this module: the store (a DuckDB file, its schema)
    and the engine's threads are set-up cost, not what a scenario tests; every run has its own
    execution id, so the scenarios stay independent."""
    from engine.executors import ray_executor
    from engine.runner import Engine
    from engine.store import Store, _register

    db = tmp_path_factory.mktemp("templates") / "workbench.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_DB", str(db))
        store = Store(db)
        _register(store)
        eng = Engine(store=store, executor=ray_executor())
        try:
            yield eng
        finally:
            eng.shutdown()
            store.close()


def _template_ids() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.toml"))


def test_the_gallery_has_at_least_twelve_described_templates_with_typed_inputs_and_a_scenario_each():
    ids = _template_ids()
    assert len(ids) >= 12
    covered = {s.template for s in SCENARIOS}
    assert set(ids) <= covered, f"templates without a run scenario: {sorted(set(ids) - covered)}"
    for tid in ids:
        spec = _template(tid)
        assert len(spec.description) > 60, tid
        assert "template" in spec.tags, tid
        if tid not in {"sales_report"}:
            assert spec.inputs, f"{tid} declares no [inputs]"
        assert not spec.validate_all().errors, tid
    kinds = {tid: _template(tid) for tid in ids}
    assert any(s.schedules for s in kinds.values())
    assert {t.type for s in kinds.values() for t in s.triggers} >= {"webhook", "file"}
    assert any(b.action == "llm" for s in kinds.values() for b in s.states.values())
    assert sum(any(b.action == "approval" for b in s.states.values()) for s in kinds.values()) >= 5


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.template}-{s.label}" if s.label else s.template)
def test_template_runs_end_to_end_on_ray(scenario: Scenario, shared_engine, tmp_path, monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "WORKBENCH_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)  # the offline default must carry every template
    out = tmp_path / "out"
    out.mkdir()
    spec = _template(scenario.template)
    res, asked = _run(shared_engine, spec, _fill_tmp(scenario.context, out), scenario.answers)
    assert res.status == "completed", (res.status, res.error, res.states_visited)
    assert res.states_visited[0] == "start" and res.states_visited[-1] == "end"
    assert sorted(asked) == sorted(scenario.answers), "an expected approval was never asked"
    scenario.check(res.final_context, res.states_visited, out)
