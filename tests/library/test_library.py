"""Workflow library over a real store."""

from __future__ import annotations

import json

import pytest

from engine import library
from engine.errors import DSLError
from engine.library import (
    LibraryError,
    WorkflowNotFoundError,
    archive_workflow,
    diff_versions,
    get_states,
    get_workflow,
    import_workflow_file,
    list_versions,
    list_workflows,
    restore_workflow,
    save_workflow,
    set_status,
)
from engine.workflow_file import WorkflowSpec, parse_workflow_text

ORDER = """
name = "Order processing"
description = "Validate, charge and ship an order."
tags = ["sales", "demo"]
dsl = \"\"\"
start->validate_order;
validate_order->charge:order_valid==True;
validate_order->reject;
charge->ship;
ship->end;
reject->end;
\"\"\"
[states.validate_order]
action = "python"
function = "mypkg.orders:validate_order"
params = { strict = true }
timeout_s = 30
retry = { max_attempts = 3, backoff_s = 0.5 }

[states.charge]
action = "http"
url = "https://payments.example/charge"
compensate = "refund"
"""


def order_spec(**changes) -> WorkflowSpec:
    spec = parse_workflow_text(ORDER)
    return spec.model_copy(update=changes) if changes else spec


def test_save_and_get_round_trip(store):
    spec = order_spec()
    wid, ver = save_workflow(store, spec, change_note="first")
    assert ver == 1 and wid.startswith("order-processing-") and len(wid) == len("order-processing-") + 6
    got, meta = get_workflow(store, wid)
    assert got.model_dump(mode="json") == spec.model_dump(mode="json")
    assert meta["workflow_id"] == wid and meta["version"] == 1 and meta["status"] == "active"
    assert meta["tags"] == ["sales", "demo"] and meta["change_note"] == "first" and meta["versions"] == 1
    assert {n["id"] for n in meta["parsed_definition"]["nodes"]} >= {"validate_order", "charge", "ship"}
    # by exact name, and ignoring case
    assert get_workflow(store, "Order processing")[1]["workflow_id"] == wid
    assert get_workflow(store, "order PROCESSING")[1]["workflow_id"] == wid
    # states table
    states = {s["state_name"]: s for s in get_states(store, wid, 1)}
    assert set(states) == {"start", "validate_order", "charge", "reject", "ship", "end"}
    v = states["validate_order"]
    assert v["callback_type"] == "python" and v["timeout_seconds"] == 30
    assert v["callback_config"] == {
        "action": "python",
        "function": "mypkg.orders:validate_order",
        "params": {"strict": True},
    }
    assert v["retry_policy"]["max_attempts"] == 3 and v["state_type"] == "decision"
    assert states["charge"]["compensate"] == "refund" and states["ship"]["callback_type"] == "noop"
    assert states["start"]["state_type"] == "start"
    # the spec column is the JSON dump of the spec, queryable in SQL
    row = store.query("SELECT spec->>'$.name' AS n, json_array_length(tags) AS t FROM workflows")[0]
    assert row == {"n": "Order processing", "t": 2}


def test_versions_and_diff(store):
    wid, v1 = save_workflow(store, order_spec())
    spec2 = order_spec(
        dsl=order_spec().dsl.replace("charge->ship;", "charge->ship:paid==True;\ncharge->reject;"), tags=["sales"]
    )
    wid2, v2 = save_workflow(store, spec2, workflow_id=wid, change_note="ship only when paid")
    assert (wid2, v1, v2) == (wid, 1, 2)
    assert get_workflow(store, wid)[1]["version"] == 2
    assert get_workflow(store, wid, 1)[0].tags == ["sales", "demo"]
    versions = list_versions(store, wid)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["change_note"] == "ship only when paid" and versions[1]["states"] == 6
    text = diff_versions(store, wid, 1, 2)
    name = order_spec().name  # headers name the workflow, never its internal id (issue 15)
    assert text.startswith(f"--- {name} v1\n+++ {name} v2") and wid not in text.splitlines()[0]
    assert "-tags: sales, demo\n+tags: sales" in text
    assert "-charge->ship;" in text and "+charge->ship:paid==True;" in text and "+charge->reject;" in text
    assert diff_versions(store, wid, 2, 2) == ""
    with pytest.raises(WorkflowNotFoundError, match="has no version 7"):
        get_workflow(store, wid, 7)


def test_diff_shows_binding_changes(store):
    wid, _ = save_workflow(store, order_spec())
    spec = order_spec()
    states = dict(spec.states)
    states["charge"] = states["charge"].model_copy(update={"timeout_s": 5.0})
    save_workflow(store, spec.model_copy(update={"states": states}), workflow_id=wid)
    text = diff_versions(store, wid, 1, 2)
    assert "+  timeout_s = 5.0" in text and "[states.charge]" in text


def test_list_workflows_filters(store):
    a, _ = save_workflow(store, order_spec())
    save_workflow(store, order_spec(), workflow_id=a)
    b, _ = save_workflow(
        store,
        WorkflowSpec(
            name="Nightly report", dsl="start->build;build->end;", tags=["reports"], description="Sales by region"
        ),
    )
    c, _ = save_workflow(store, WorkflowSpec(name="Scratch", dsl="start->x;x->end;"), status="draft")
    rows = list_workflows(store)
    assert [r["workflow_id"] for r in rows] == [c, b, a]
    ra = next(r for r in rows if r["workflow_id"] == a)
    assert ra["versions"] == 2 and ra["version"] == ra["latest_version"] == 2 and ra["tags"] == ["sales", "demo"]
    assert [r["workflow_id"] for r in list_workflows(store, tag="SALES")] == [a]
    assert [r["workflow_id"] for r in list_workflows(store, text="region")] == [b]
    assert [r["workflow_id"] for r in list_workflows(store, status="draft")] == [c]
    assert list_workflows(store, text="nothing matches this") == []


def test_archive_and_restore(store):
    wid, _ = save_workflow(store, order_spec())
    save_workflow(store, order_spec(), workflow_id=wid, status="deprecated")
    save_workflow(store, order_spec(), workflow_id=wid)
    # one version archived: the default skips it
    assert archive_workflow(store, wid, version=3) == 1
    assert get_workflow(store, wid)[1]["version"] == 2
    assert get_workflow(store, wid, 3)[1]["status"] == "archived"  # explicit versions still load
    # the whole workflow
    assert archive_workflow(store, wid) == 2
    assert list_workflows(store) == []
    assert [r["status"] for r in list_workflows(store, status="archived")] == ["archived"]
    with pytest.raises(WorkflowNotFoundError, match="is archived; restore it"):
        get_workflow(store, wid)
    with pytest.raises(WorkflowNotFoundError):
        get_workflow(store, "Order processing")
    assert get_workflow(store, wid, include_archived=True)[1]["version"] == 3
    assert archive_workflow(store, wid) == 0
    assert restore_workflow(store, wid) == 3
    statuses = {v["version"]: v["status"] for v in list_versions(store, wid)}
    assert statuses == {1: "active", 2: "deprecated", 3: "active"}
    # nothing was deleted: the history keeps every row
    n = store.query("SELECT count(*) AS n FROM workflows_history WHERE workflow_id = ?", [wid])[0]["n"]
    assert n == 3 + 1 + 2 + 3
    # the spec survives archive/restore unchanged (JSON columns are not double-encoded)
    assert get_workflow(store, wid)[0].model_dump(mode="json") == order_spec().model_dump(mode="json")
    set_status(store, wid, 1, "deprecated")
    assert list_versions(store, wid)[0]["status"] == "deprecated"
    with pytest.raises(LibraryError, match="status must be"):
        set_status(store, wid, 1, "gone")


def test_not_found_lists_close_names(store):
    save_workflow(store, order_spec())
    save_workflow(store, WorkflowSpec(name="Order refunds", dsl="start->a;a->end;"))
    with pytest.raises(WorkflowNotFoundError, match=r"did you mean: .*'Order processing'"):
        get_workflow(store, "Order procesing")
    with pytest.raises(WorkflowNotFoundError, match="no workflow 'zzz'"):
        get_workflow(store, "zzz")
    with pytest.raises(WorkflowNotFoundError):
        list_versions(store, "nope")
    with pytest.raises(WorkflowNotFoundError):
        archive_workflow(store, "nope")


def test_empty_library_message(store):
    with pytest.raises(WorkflowNotFoundError, match="library is empty"):
        get_workflow(store, "anything")


def test_same_name_picks_most_recent(store):
    a, _ = save_workflow(store, order_spec())
    b, _ = save_workflow(store, order_spec())
    assert a != b
    assert get_workflow(store, "Order processing")[1]["workflow_id"] == b
    save_workflow(store, order_spec(), workflow_id=a)
    assert get_workflow(store, "Order processing")[1]["workflow_id"] == a


def test_invalid_workflows(store):
    with pytest.raises(DSLError):
        save_workflow(store, WorkflowSpec(name="Broken", dsl="start->;"))
    # parses but does not validate (two unconditional transitions): refused unless draft
    bad = WorkflowSpec(name="Two defaults", dsl="start->a;a->b;a->c;b->end;c->end;")
    with pytest.raises(DSLError):
        save_workflow(store, bad)
    wid, _ = save_workflow(store, bad, status="draft")
    assert get_workflow(store, wid)[1]["status"] == "draft"
    with pytest.raises(LibraryError, match="archive_workflow"):
        save_workflow(store, order_spec(), status="archived")
    assert store.query("SELECT count(*) AS n FROM workflows")[0]["n"] == 1


def test_import_workflow_file(store, tmp_path):
    path = tmp_path / "order.toml"
    path.write_text(ORDER)
    wid, v = import_workflow_file(store, path)
    assert import_workflow_file(store, path) == (wid, v) == (wid, 1)  # unchanged: no new version
    path.write_text(ORDER.replace("timeout_s = 30", "timeout_s = 60"))
    assert import_workflow_file(store, path) == (wid, 2)
    assert list_versions(store, wid)[1]["change_note"] == "imported from order.toml"
    dsl = tmp_path / "tiny.dsl"
    dsl.write_text("start->only;only->end;")
    wid2, v2 = import_workflow_file(store, dsl)
    assert v2 == 1 and get_workflow(store, "tiny")[1]["workflow_id"] == wid2


def test_templates_import(store):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "data" / "templates"
    files = sorted(p for p in root.glob("*") if p.suffix in (".toml", ".dsl"))
    if not files:
        pytest.skip("no templates yet")
    ids = set()
    for p in files:
        try:
            ids.add(import_workflow_file(store, p)[0])
        except DSLError as exc:  # a template that does not validate is someone else's bug; report it clearly
            pytest.fail(f"{p.name}: {exc}")
    assert len(list_workflows(store)) == len(ids)


def test_library_data_is_visible_to_notebooks(store):
    import duckdb

    wid, _ = save_workflow(store, order_spec())
    store.flush()
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        name, spec = con.execute("SELECT name, spec FROM workflows WHERE workflow_id = ?", [wid]).fetchone()
        assert name == "Order processing" and json.loads(spec)["tags"] == ["sales", "demo"]
    finally:
        con.close()


def test_slugify():
    assert library.slugify("Order processing!") == "order-processing"
    assert library.slugify("   ") == "workflow"
    assert len(library.slugify("x" * 100)) == 40
