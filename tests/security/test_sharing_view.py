"""The Workflows page's Sharing panel (AppTest, local mode = the local admin): share with a user and a
group, see them listed with who shared, remove one; the records and audit rows are those of engine/sharing.py."""

from __future__ import annotations

from engine import library, sharing
from engine.workflow_file import parse_workflow_text
from tests.app.conftest import app_engine, page_test, texts  # noqa: F401 - fixtures
from tests.automation.conftest import NOOP_TOML


def test_workflows_page_shares_and_unshares(page_test, app_engine):  # noqa: F811
    store = app_engine.store
    wid, _ = library.save_workflow(
        store, parse_workflow_text(NOOP_TOML.format(name="shared one", extra="")), owner="ann"
    )
    at = page_test("workflows")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Sharing" in texts(at) and "Not shared with anyone" in texts(at) and "ann" in texts(at)

    at.text_input(key=f"share.subject.{wid}").set_value("bob@example.com")
    at.selectbox(key=f"share.level.{wid}").set_value("run")
    next(b for b in at.button if b.key == f"btn.share.add.{wid}").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.radio(key=f"share.kind.{wid}").set_value("group")
    at.run()
    at.text_input(key=f"share.subject.{wid}").set_value("ops")
    at.selectbox(key=f"share.level.{wid}").set_value("edit")
    next(b for b in at.button if b.key == f"btn.share.add.{wid}").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    shares = {(r["subject_kind"], r["subject"], r["level"], r["shared_by"]) for r in sharing.list_shares(store, wid)}
    assert shares == {("user", "bob@example.com", "run", "local"), ("group", "ops", "edit", "local")}
    page = texts(at)
    assert "bob@example.com" in page and "ops" in page

    next(b for b in at.button if b.key == f"btn.share.rm.{wid}|user|bob@example.com").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [r["subject"] for r in sharing.list_shares(store, wid)] == ["ops"]
    events = [r["event_type"] for r in store.query("SELECT event_type FROM audit_logs ORDER BY timestamp")]
    assert events.count("security.shared") == 2 and events.count("security.unshared") == 1
