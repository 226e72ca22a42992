"""A workflow *name* never writes into someone else's workflow (issue 13 follow-up).

Running or saving a definition by name (``POST /api/v1/executions``, ``workbench run FILE`` locally and
through ``WORKBENCH_SERVER``, ``library.ensure_saved``/``save_workflow``, ``engine.api.ensure_version``)
means the caller's own workflow of that name first, else one it may edit (an ``edit`` share; operators and
admins: any). A caller who may not edit the other workflow of that name gets a workflow of his own; the
other one gains no version. New versions keep their workflow's owner.

The first tests use a real store in-process (``engine.access`` with real principals); the last ones a real
``workbench serve --auth required`` process with analyst, viewer and operator tokens and the real CLI.
"""

from __future__ import annotations

import pytest

from engine import access, api, library, sharing
from engine.auth import Principal, Role
from engine.client import WorkbenchClient
from engine.workflow_file import parse_workflow_text
from tests.service.conftest import start_auth_server, stop_auth_server, workbench_cli

TOML = '''
name = "{name}"
dsl = """{dsl}"""
'''
ANN = Principal("ann", Role.ANALYST)
BOB = Principal("bob", Role.ANALYST)
CARL = Principal("carl", Role.ANALYST)
OPAL = Principal("opal", Role.OPERATOR)
ADMIN = Principal("root-admin", Role.ADMIN)


def _spec(name: str, dsl: str = "start->a; a->end;"):
    return parse_workflow_text(TOML.format(name=name, dsl=dsl), fmt="toml")


def _versions(store, wid: str) -> list[dict]:
    return library.list_versions(store, wid)


# ------------------------------------------------------------------------------------ in-process
def test_an_analyst_never_writes_into_another_owners_workflow_of_that_name(store):
    ann_wid, _ = library.save_workflow(store, _spec("Ledger"), owner="ann")
    before = _versions(store, ann_wid)

    bob_wid, bob_v = access.ensure_version_for(store, BOB, _spec("Ledger", "start->a; a->b; b->end;"))
    assert bob_wid != ann_wid and bob_v == 1
    assert library.get_workflow(store, bob_wid)[1]["owner"] == "bob"
    # the same content as ann's current version: still not ann's (bob may neither write nor mean it)
    same_wid, _ = access.ensure_version_for(store, BOB, _spec("Ledger"))
    assert same_wid == bob_wid
    assert _versions(store, ann_wid) == before  # ann's workflow gained nothing

    # bob's next changed definition of that name is a pinned version of HIS workflow
    wid3, v3 = access.ensure_version_for(store, BOB, _spec("Ledger", "start->a; a->c; c->end;"))
    assert (wid3, v3) == (bob_wid, 3)
    assert {v["owner"] for v in _versions(store, bob_wid)} == {"bob"}
    assert _versions(store, ann_wid) == before

    # ann's own definition of that name still means her workflow, even though bob's changed later
    assert access.ensure_version_for(store, ANN, _spec("Ledger"))[0] == ann_wid


def test_edit_share_operator_and_admin_write_into_it_and_the_owner_stays(store):
    ann_wid, _ = library.save_workflow(store, _spec("Payroll"), owner="ann")
    sharing.share(store, ANN, ann_wid, user="bob", level="edit")
    wid, v = access.ensure_version_for(store, BOB, _spec("Payroll", "start->y; y->end;"))
    assert (wid, v) == (ann_wid, 2)
    wid, v = access.ensure_version_for(store, OPAL, _spec("Payroll", "start->z; z->end;"))
    assert (wid, v) == (ann_wid, 3)
    wid, v = access.ensure_version_for(
        store, ADMIN, _spec("Payroll", "start->w; w->end;"), make_default=True, changed_note="admin's file"
    )
    assert (wid, v) == (ann_wid, 4)
    rows = _versions(store, ann_wid)
    assert [r["status"] for r in rows] == ["active", "pinned", "pinned", "active"]
    assert {r["owner"] for r in rows} == {"ann"}  # nobody took the workflow over
    assert library.get_workflow(store, ann_wid)[1]["owner"] == "ann"

    sharing.share(store, ANN, ann_wid, user="carl", level="run")
    run_shared = access.ensure_version_for(store, CARL, _spec("Payroll", "start->x; x->end;"))[0]
    assert run_shared != ann_wid  # a run share is no licence to save versions: carl gets his own
    assert len(_versions(store, ann_wid)) == 4


def test_library_saves_keep_the_owner_and_a_name_is_never_an_id(store, monkeypatch):
    ann_wid, _ = library.save_workflow(store, _spec("Invoices"), owner="ann")
    monkeypatch.setenv("WORKBENCH_USER", "mallory")
    # a new version saved without an owner keeps the workflow's (it used to become the process user's)
    library.save_workflow(store, _spec("Invoices", "start->b; b->end;"), workflow_id=ann_wid)
    assert library.get_workflow(store, ann_wid)[1]["owner"] == "ann"
    # a definition NAMED like another workflow's id is not that workflow
    wid, _ = library.ensure_saved(store, _spec(ann_wid), may_write=lambda row: False)
    assert wid != ann_wid and len(_versions(store, ann_wid)) == 2
    # the local process (no may_write: the store's administrator) means its own workflow of a name first
    own, _ = library.save_workflow(store, _spec("Invoices", "start->m; m->end;"), owner="mallory")
    library.save_workflow(store, _spec("Invoices", "start->n; n->end;"), workflow_id=ann_wid)  # ann's newer
    assert api.ensure_version(_spec("Invoices", "start->m; m->end;"), store)[0] == own
    assert library.ensure_saved(store, _spec("Invoices", "start->q; q->end;"))[0] == own
    assert library.get_workflow(store, "Invoices", prefer_owner="mallory")[1]["workflow_id"] == own
    assert library.get_workflow(store, "Invoices")[1]["workflow_id"] == ann_wid  # no caller: the newest


def test_names_resolve_among_what_the_caller_reads_own_first(store):
    bob_wid, _ = library.save_workflow(store, _spec("Report"), owner="bob")
    ann_wid, _ = library.save_workflow(store, _spec("Report", "start->r; r->end;"), owner="ann")  # newer
    assert access.workflow_for(store, BOB, "Report")[1]["workflow_id"] == bob_wid
    assert access.workflow_for(store, ANN, "Report")[1]["workflow_id"] == ann_wid
    with pytest.raises(library.WorkflowNotFoundError):
        access.workflow_for(store, CARL, "Report")  # carl reads neither
    sharing.share(store, ANN, ann_wid, user="carl", level="view")
    assert access.workflow_for(store, CARL, "Report")[1]["workflow_id"] == ann_wid
    assert sharing.resolve_workflow(store, "Report", BOB)[0] == bob_wid


# ------------------------------------------------------------------------------- real service + CLI
USERS = {"ann": "analyst", "bob": "analyst", "carl": "analyst", "opal": "operator"}


@pytest.fixture(scope="module")
def served():
    env = {"WORKBENCH_RATE_EXECUTIONS": "off", "WORKBENCH_RATE_CREATIONS": "off"}
    srv, tokens = start_auth_server("wb-names-test-", USERS, env)
    try:
        yield {"srv": srv, "tokens": tokens, "tmp": srv.db.parent}
    finally:
        stop_auth_server(srv)


def _as(s, who: str) -> WorkbenchClient:
    return WorkbenchClient(s["srv"].url, timeout=60, token=s["tokens"][who])


def _version_count(s, wid: str) -> int:
    with _as(s, "opal") as opal:
        return int(opal.get_workflow(wid)["versions"])


@pytest.mark.slow
def test_inline_definition_with_anothers_name_runs_in_a_workflow_of_the_callers_own(served):
    s = served
    name = "Quarterly close"
    with _as(s, "ann") as ann:
        a = ann.create_workflow(toml=TOML.format(name=name, dsl="start->a; a->end;"))["workflow_id"]
    changed = TOML.format(name=name, dsl="start->a; a->b; b->end;")
    with _as(s, "bob") as bob:
        first = bob.run_definition(toml=changed, execution="inline")
        assert first["workflow_id"] != a  # used to be a pinned version INSIDE ann's workflow
        assert bob.wait(first["execution_id"], timeout=60)["status"] == "completed"
        mine = bob.get_workflow(first["workflow_id"])
        assert mine["owner"] == "bob" and mine["name"] == name
        # the same definition again: the same workflow and version; ann's content: still bob's workflow
        assert bob.run_definition(toml=changed, execution="inline")["workflow_id"] == first["workflow_id"]
        same_as_ann = bob.run_definition(toml=TOML.format(name=name, dsl="start->a; a->end;"), execution="inline")
        assert same_as_ann["workflow_id"] == first["workflow_id"]
        # by name, bob means his own workflow (ann's is newer and unreadable to him)
        assert bob.get_workflow(name)["workflow_id"] == first["workflow_id"]
    assert _version_count(s, a) == 1
    with _as(s, "ann") as ann:
        assert ann.get_workflow(name)["workflow_id"] == a


@pytest.mark.slow
def test_edit_share_and_operator_write_pinned_versions_into_the_shared_workflow(served):
    s = served
    name = "Vendor payments"
    with _as(s, "ann") as ann:
        a = ann.create_workflow(toml=TOML.format(name=name, dsl="start->a; a->end;"))["workflow_id"]
        ann.share(a, user="carl", level="edit")
    with _as(s, "carl") as carl:
        started = carl.run_definition(toml=TOML.format(name=name, dsl="start->c; c->end;"), execution="inline")
    assert (started["workflow_id"], started["version"]) == (a, 2)
    with _as(s, "opal") as opal:
        started = opal.run_definition(toml=TOML.format(name=name, dsl="start->o; o->end;"), execution="inline")
        assert (started["workflow_id"], started["version"]) == (a, 3)
        detail = opal.get_workflow(a)
    assert detail["owner"] == "ann" and detail["version"] == 1  # pinned versions: ann's default unchanged


@pytest.mark.slow
def test_cli_run_file_through_the_service_never_saves_into_anothers_workflow(served, tmp_path):
    s = served
    name = "Monthly audit"
    with _as(s, "ann") as ann:
        a = ann.create_workflow(toml=TOML.format(name=name, dsl="start->a; a->end;"))["workflow_id"]
        ann.share(a, user="bob", level="view")  # bob may read it, not edit it
    path = tmp_path / "audit.toml"
    path.write_text(TOML.format(name=name, dsl="start->f; f->end;"), encoding="utf-8")
    env = {"WORKBENCH_SERVER": s["srv"].url, "WORKBENCH_TOKEN": s["tokens"]["bob"]}
    out = workbench_cli(s["srv"].db, "run", str(path), "--save-version", "--execution", "inline", "--json", **env)
    assert out.returncode == 0, out.stderr
    assert "you may not edit the workflow" in out.stderr
    with _as(s, "bob") as bob:
        mine = bob.get_workflow(name)  # his own now comes first
        assert mine["workflow_id"] != a and mine["owner"] == "bob"
        assert "f->end" in mine["dsl"].replace(" ", "")
    assert _version_count(s, a) == 1
    # a second --save-version updates bob's own workflow (no 403, no third workflow)
    path.write_text(TOML.format(name=name, dsl="start->g; g->end;"), encoding="utf-8")
    out = workbench_cli(s["srv"].db, "run", str(path), "--save-version", "--execution", "inline", "--json", **env)
    assert out.returncode == 0, out.stderr
    assert "you may not edit" not in out.stderr
    with _as(s, "opal") as opal:
        same_name = [w for w in opal.list_workflows(search=name)["workflows"] if w["name"] == name]
    assert len(same_name) == 2
    assert _version_count(s, a) == 1 and _version_count(s, mine["workflow_id"]) == 2
