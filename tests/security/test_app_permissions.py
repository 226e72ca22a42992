"""Ownership and rate limits of page actions (issue 13): an analyst creates, updates and executes their
own workflows and runs only; an operator acts on anyone's; a viewer only reads. Every refusal names the
missing permission (or the limit and when to try again) and is recorded in ``audit_logs``; allowed
actions record who did them. Engine-level checks on a real store, then the Run page through AppTest
signed in as real users of an ``[auth]`` configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import access, auth
from engine.auth import Permission, Principal, Role
from engine.workbench import library as wb_library
from engine.workflow_file import WorkflowSpec, load_workflow
from tests.app.conftest import app_engine, page_test, texts  # noqa: F401  (fixtures)

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"
ALICE = Principal("alice@example.com", Role.ANALYST)
BOB = Principal("bob@example.com", Role.ANALYST)
OPS = Principal("ops@example.com", Role.OPERATOR)
VIEW = Principal("viewer@example.com", Role.VIEWER)


def _workflow(store, owner: str | None) -> str:
    spec = WorkflowSpec(name="owned", dsl="start->end;")
    return wb_library.save_workflow(store, spec, owner=owner)[0]


def _audit(store, event_type: str) -> list[dict]:
    return store.query(
        "SELECT actor, message, execution_id FROM audit_logs WHERE event_type = ? ORDER BY timestamp", [event_type]
    )


def test_an_analyst_acts_on_their_own_workflow_only_and_the_refusal_names_the_permission(store):
    wid = _workflow(store, ALICE.user)
    assert access.check_action(store, ALICE, Permission.EXECUTE, workflow_id=wid, action="launch") is None
    refused = access.check_action(store, BOB, Permission.EXECUTE, workflow_id=wid, action="launch")
    assert refused == (
        "permission denied: bob@example.com (analyst) lacks workflow:execute on a workflow owned by alice@example.com"
    )
    assert access.check_action(store, BOB, Permission.UPDATE, workflow_id=wid) is not None
    assert access.check_action(store, OPS, Permission.UPDATE, workflow_id=wid, action="workflow_saved") is None
    assert "lacks workflow:execute" in access.check_action(store, VIEW, Permission.EXECUTE, workflow_id=wid)
    assert access.check_action(store, BOB, Permission.CREATE) is None  # anyone but a viewer may create
    denied = _audit(store, "security.denied")
    assert [d["actor"] for d in denied] == [BOB.user, BOB.user, VIEW.user]
    assert [r["actor"] for r in _audit(store, "app.launch")] == [ALICE.user]
    assert [r["actor"] for r in _audit(store, "app.workflow_saved")] == [OPS.user]


def test_a_run_belongs_to_who_started_it_and_a_run_with_no_owner_to_operators_only(store):
    wid = _workflow(store, ALICE.user)
    auth.record_run_start(store, "run-of-bob", BOB.user, workflow_id=wid, how="app")
    assert access.check_action(store, BOB, Permission.CANCEL, execution_id="run-of-bob", action="cancel") is None
    assert "lacks run:cancel" in access.check_action(store, ALICE, Permission.CANCEL, execution_id="run-of-bob")
    assert access.check_action(store, OPS, Permission.APPROVE, execution_id="run-of-bob", action="answer") is None
    refused = access.check_action(store, BOB, Permission.APPROVE, execution_id="never-recorded")
    assert refused.endswith("lacks run:approve on a workflow or run with no recorded owner")
    assert access.check_action(store, OPS, Permission.APPROVE, execution_id="never-recorded") is None
    cancels = _audit(store, "app.cancel")
    assert cancels == [
        {"actor": BOB.user, "message": "cancel by bob@example.com (analyst)", "execution_id": "run-of-bob"}
    ]


def test_rate_limits_say_the_limit_and_when_to_try_again_and_spare_the_local_user(store):
    limiter = auth.RateLimiter({"executions": (2, 60.0), "ai": None})
    for _ in range(2):
        assert access.check_action(store, OPS, Permission.EXECUTE, limiter=limiter, rate_kind="executions") is None
    refused = access.check_action(store, OPS, Permission.EXECUTE, limiter=limiter, rate_kind="executions")
    assert refused.startswith("too many executions for ops@example.com: limit 2 per 60 s; try again in ")
    assert 1 <= int(refused.rsplit(" ", 2)[-2]) <= 60
    assert access.check_action(store, ALICE, Permission.EXECUTE, limiter=limiter, rate_kind="executions") is None
    for _ in range(5):  # the single local user of local mode is not limited (as in the service)
        assert (
            access.check_action(store, auth.LOCAL_ADMIN, Permission.EXECUTE, limiter=limiter, rate_kind="executions")
            is None
        )
    assert [r["actor"] for r in _audit(store, "security.rate_limited")] == [OPS.user]


SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x",
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
    },
    "workbench": {"roles": {"analyst": ["alice@example.com", "bob@example.com"], "operator": ["ops@example.com"]}},
}


def _signed_in_run_page(page_test, wid: str, email: str):  # noqa: F811
    at = page_test("run")
    for key, value in SECRETS.items():
        at.secrets[key] = value
    at.user = {"is_logged_in": True, "email": email, "name": email}
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _click_launch(at):
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize(
    "email, allowed", [("bob@example.com", False), ("alice@example.com", True), ("ops@example.com", True)]
)
def test_the_run_page_launches_only_what_the_signed_in_user_may_execute(page_test, app_engine, email, allowed):  # noqa: F811
    store = app_engine.store
    wid, _ = wb_library.save_workflow(store, load_workflow(TEMPLATES / "sales_report.toml"), owner="alice@example.com")
    at = _signed_in_run_page(page_test, wid, email)
    _click_launch(at)
    page = texts(at)
    if allowed:
        eid = at.session_state["wb.run_id"]
        assert auth.execution_owner(store, eid) == email  # the launcher owns the run
        assert [r["actor"] for r in _audit(store, "app.launch")] == [email]
    else:
        assert "wb.run_id" not in at.session_state
        assert (
            "Not done: permission denied: bob@example.com (analyst) lacks workflow:execute on a workflow owned by "
            "alice@example.com." in page
        ), page
        assert store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"] == 0


def test_the_run_page_says_when_the_execution_limit_is_reached(page_test, app_engine, monkeypatch):  # noqa: F811
    from app.components import auth_gate

    monkeypatch.setenv("WORKBENCH_RATE_EXECUTIONS", "1/1h")
    monkeypatch.setattr(auth_gate, "_LIMITER", None)  # rebuilt from the environment, as at app start
    store = app_engine.store
    wid, _ = wb_library.save_workflow(store, load_workflow(TEMPLATES / "sales_report.toml"), owner="ops@example.com")
    at = _signed_in_run_page(page_test, wid, "ops@example.com")
    _click_launch(at)
    first = at.session_state["wb.run_id"]
    at.session_state["run.start_open"] = True
    at.run()
    _click_launch(at)
    assert at.session_state["wb.run_id"] == first  # no second run
    assert "too many executions for ops@example.com: limit 1 per 3600 s; try again in " in texts(at)
