"""engine.records: the one place for read queries and JSON decoding, and the shared small rules."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from engine import api, records, schema
from engine.workbench import runs

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 1, 12, 0, 0)


def _execution(eid: str, **over) -> dict:
    row = {
        "execution_id": eid,
        "workflow_id": "wf-1",
        "workflow_name": "Orders",
        "version": 1,
        "status": "completed",
        "current_state": "end",
        "initial_context": {"order": 7},
        "final_context": {"order": 7, "ok": True},
        "states_visited": ["start", "check", "end"],
        "recovery_actions": [],
        "ai_decisions": [{"state": "check", "result": True}],
        "waiting_for": None,
        "options": {"timeout_s": 5, "_spec": {"name": "Orders"}},
        "error_count": 0,
        "retry_count": 0,
        "start_time": T0,
        "end_time": T0 + dt.timedelta(seconds=1),
        "duration_ms": 1000,
        "updated_at": T0,
        "seq": 1,
    }
    row.update(over)
    return row


@pytest.fixture
def filled(store):
    store.append_many(
        "workflow_executions",
        [
            _execution("e1"),
            _execution("e2", status="waiting", start_time=T0 + dt.timedelta(minutes=1), updated_at=T0),
            _execution("e3", status="failed", version=2, start_time=T0 + dt.timedelta(minutes=2), updated_at=T0),
        ],
    )
    store.append(
        "human_requests",
        {
            "request_id": "r1",
            "execution_id": "e2",
            "state": "approve",
            "kind": "approval",
            "prompt": "ok?",
            "options": ["yes", "no"],
            "details": {"amount": 3},
            "status": "open",
            "created_at": T0,
            "updated_at": T0,
            "seq": 1,
        },
    )
    store.append(
        "state_transitions",
        {
            "id": "t1",
            "execution_id": "e1",
            "workflow_id": "wf-1",
            "version": 1,
            "from_state": "check",
            "to_state": "end",
            "token": "0",
            "status": "completed",
            "context_snapshot": {"ok": True},
            "keys_read": ["order"],
            "timestamp": T0,
            "started_at": T0,
            "ended_at": T0,
        },
    )
    store.append(
        "optimization_records",
        {
            "id": "opt-1",
            "workflow_id": "wf-1",
            "version": 1,
            "title": "t",
            "evidence": {"runs": 3},
            "proposed_changes": [{"op": "retry"}],
            "status": "suggested",
            "priority": 2,
            "created_at": T0,
            "updated_at": T0,
            "seq": 1,
        },
    )
    store.flush()
    return store


def test_decode_follows_the_schema_for_every_table():
    for table, cols in schema.JSON_COLUMNS.items():
        row = {c: json.dumps({"k": [1, 2]}) for c in cols} | {"other": "[1]"}
        out = records.decode(table, row)
        assert all(out[c] == {"k": [1, 2]} for c in cols), table
        assert out["other"] == "[1]"  # not a JSON column: untouched


def test_execution_decodes_every_json_column_and_api_show_agrees(filled):
    ex = records.execution(filled, "e1")
    for col in schema.JSON_COLUMNS["workflow_executions"]:
        assert not isinstance(ex[col], str), col
    assert ex["ai_decisions"] == [{"state": "check", "result": True}]
    assert runs.execution(filled, "e1") == ex
    shown = api.show("e1", store=filled)
    assert shown["options"] == {"timeout_s": 5}  # private options hidden
    assert shown["final_context"] == ex["final_context"]
    assert [t["id"] for t in shown["transitions"]] == ["t1"]
    assert records.execution(filled, "nope") is None


def test_lists_and_filters(filled):
    assert [r["execution_id"] for r in records.executions(filled)] == ["e3", "e2", "e1"]
    assert [r["execution_id"] for r in records.executions(filled, status="failed")] == ["e3"]
    aware = (T0 + dt.timedelta(seconds=30)).replace(tzinfo=dt.UTC)
    assert [r["execution_id"] for r in records.executions(filled, since=aware)] == ["e3", "e2"]
    assert [r["execution_id"] for r in records.unfinished_runs(filled, 10)] == ["e2"]
    assert records.finished_runs_per_version(filled, "wf-1") == {1: 1, 2: 1}
    assert records.recorded_spec(filled, "wf-1", 1) == {"name": "Orders"}
    assert records.last_initial_context(filled, "wf-1") == {"order": 7}
    assert [r["execution_id"] for r in records.runs_needing_attention(filled)] == ["e2"]


def test_requests_and_optimization_records_are_decoded(filled):
    (req,) = records.human_requests(filled, "e2", open_only=True)
    assert req["options"] == ["yes", "no"] and req["details"] == {"amount": 3}
    (rec,) = records.optimization_records(filled, workflow_id="wf-1")
    assert rec["evidence"] == {"runs": 3} and rec["proposed_changes"] == [{"op": "retry"}]
    assert records.optimization_record(filled, "opt")[0]["id"] == "opt-1"
    assert records.optimization_records(filled, ids=[]) == []


def test_status_sets_split_every_execution_status():
    assert records.FINISHED_STATUSES.isdisjoint(records.LIVE_STATUSES)
    assert set(records.FINISHED_STATUSES) | set(records.LIVE_STATUSES) == set(schema.EXECUTION_STATUSES)


def test_utc_now_is_aware_and_the_store_keeps_it_as_naive_utc(store):
    now = records.utc_now()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(0)
    store.append("audit_logs", {"id": "a1", "execution_id": "e", "timestamp": now, "level": "info", "message": "m"})
    store.flush()
    (row,) = store.query("SELECT timestamp FROM audit_logs")
    assert row["timestamp"] == records.store_time(now)
    assert records.store_time(dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == dt.datetime(
        2026, 1, 1, 7
    )


def test_one_slug_rule():
    from engine import library

    assert records.slugify("Order processing!") == "order-processing" == library.slugify("Order processing!")
    assert records.slugify("   ") == "workflow"
    assert len(records.slugify("x" * 100)) == 40
    assert records.slugify("a" * 39 + " b") == "a" * 39  # no trailing '-'


def _sql_texts(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and "SELECT " in n.value.upper()
        and " FROM " in n.value.upper()
    ]


@pytest.mark.parametrize("rel", ["engine/api.py", "engine/workbench", "app", "engine/cli/run_cmds.py"])
def test_read_queries_live_in_records(rel):
    target = ROOT / rel
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    found = {str(p.relative_to(ROOT)): lines for p in files if (lines := _sql_texts(p))}
    assert found == {}


# ------------------------------------------------------------------------------------ one definition each
# files not converted yet, each with its reason (remove an entry when its file is converted)
NOT_CONVERTED_YET: dict[str, str] = {}
FINISHED_SET = {"completed", "failed", "cancelled"}
# literals that look like the finished set but are something else
NOT_A_STATUS_TEST = {"app/app_pages/analytics.py": "the chart's count columns in stacking order"}


def _project_files():
    for pkg in ("engine", "app", "ray_tasks"):
        for p in sorted((ROOT / pkg).rglob("*.py")):
            rel = str(p.relative_to(ROOT))
            if rel != "engine/records/common.py" and rel not in NOT_CONVERTED_YET:
                yield rel, ast.parse(p.read_text(encoding="utf-8"))


def test_one_clock_one_slug_rule_one_finished_set():
    """utc_now() is the only clock, slugify() the only slug rule, schema.FINISHED_STATUSES the only
    finished set (as a Python literal or as SQL text ``IN ('completed', 'failed', 'cancelled')``)."""
    found = []
    for rel, tree in _project_files():
        for n in ast.walk(tree):
            if (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in ("now", "utcnow")
                and "datetime" in ast.unparse(n.func.value)
            ):
                found.append(f"{rel}:{n.lineno} {ast.unparse(n)}: use records.utc_now()")
            elif isinstance(n, ast.Constant) and isinstance(n.value, str) and "[^a-z0-9]+" in n.value:
                found.append(f"{rel}:{n.lineno} a slug pattern: use records.slugify()")
            elif (
                isinstance(n, (ast.Tuple, ast.List, ast.Set))
                and len(n.elts) == 3
                and rel not in ("engine/schema.py", *NOT_A_STATUS_TEST)
                and {getattr(e, "value", None) for e in n.elts} == FINISHED_SET
            ):
                found.append(f"{rel}:{n.lineno} the finished set: use schema.FINISHED_STATUSES")
            elif isinstance(n, ast.Constant) and isinstance(n.value, str) and "IN (" in n.value.upper():
                quoted = set(re.findall(r"'(\w+)'", n.value.split("IN (", 1)[-1].split(")")[0]))
                if quoted == FINISHED_SET:
                    found.append(f"{rel}:{n.lineno} the finished set in SQL: build it from FINISHED_STATUSES")
    assert found == []


def test_recovery_strategy_counts_and_execution_count(store):
    store.append_many(
        "recovery_actions",
        [
            {"id": f"r{i}", "execution_id": "e1", "timestamp": T0, "recovery_strategy": s}
            for i, s in enumerate(["retry", "retry", None, "", "skip"])
        ],
    )
    store.append("workflow_executions", _execution("e1"))
    store.flush()
    assert records.recovery_strategy_counts(store, "e1") == {"retry": 2, "unknown": 2, "skip": 1}
    assert records.recovery_strategy_counts(store, "none") == {}
    assert records.execution_count(store) == 1


def test_run_reads_for_the_optimizer(filled):
    assert records.run_versions(filled, "wf-1") == [2, 1]
    assert records.latest_version_with_runs(filled, "wf-1") == 2
    assert records.most_recently_run(filled, ["wf-1", "other"]) == "wf-1"
    assert records.most_recently_run(filled, ["other"]) is None
    assert sorted(r["status"] for r in records.run_outcomes(filled, "wf-1", 1)) == ["completed", "waiting"]
    assert [r["status"] for r in records.run_outcomes(filled, "wf-1", 1, finished_only=True)] == ["completed"]
    later = (T0 + dt.timedelta(seconds=1)).replace(tzinfo=dt.UTC)
    assert records.run_outcomes(filled, "wf-1", 1, finished_only=True, since=later) == []
    assert records.initial_contexts(filled, "wf-1", 1, ("completed", "failed"), 10) == {"e1": {"order": 7}}
    assert [t["from_state"] for t in records.transitions_of_runs(filled, ["e1", "e2"])] == ["check"]
    assert records.transitions_of_runs(filled, []) == []


# ------------------------------------------------------------------------------------ the package's layout
RECORDS_MAX_LINES = 500


def test_every_records_module_says_what_it_answers_and_the_package_reexports_it():
    """Each module of engine/records/ has a docstring and stays small; ``records.X`` is the module's X."""
    import importlib

    package = ROOT / "engine" / "records"
    modules = sorted(p for p in package.glob("*.py") if p.name != "__init__.py")
    assert len(modules) >= 5
    for path in modules:
        text = path.read_text(encoding="utf-8")
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no docstring"
        assert len(text.splitlines()) <= RECORDS_MAX_LINES, f"{path.name} is too big to live in"
        module = importlib.import_module(f"engine.records.{path.stem}")
        for node in ast.parse(text).body:
            names = [t.id for t in node.targets] if isinstance(node, ast.Assign) else [getattr(node, "name", "_")]
            for name in (n for n in names if not n.startswith("_")):
                assert getattr(records, name) is getattr(module, name), f"records.{name} is not {path.stem}.{name}"
    assert set(records.__all__) <= set(dir(records))
