"""The run link of a notification opens that run in the app: History reads ``?run=<execution id>``."""

from __future__ import annotations

from tests.app.conftest import app_engine, page_test  # noqa: F401 (fixtures)


def test_history_opens_the_run_named_in_the_query(page_test, app_engine):  # noqa: F811
    from engine.automation import notify
    from engine.workflow_file import parse_workflow_text

    spec = parse_workflow_text('name = "Linked"\ndsl = "start->a; a->b; b->end;"\n')
    first = app_engine.run(spec, {}).execution_id
    second = app_engine.run(spec, {}).execution_id
    assert notify.run_link(first).endswith(f"/history?run={first}")
    at = page_test("history")
    at.query_params["run"] = first
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["hist.selected"] == first
    keys = {s.key for s in at.select_slider}
    assert f"hist.step.{first}" in keys and f"hist.step.{second}" not in keys
    # a later click in the table wins over the link (the link opens the run once)
    at.session_state["hist.selected"] = second
    at.run()
    assert f"hist.step.{second}" in {s.key for s in at.select_slider}


def test_history_shows_the_notifications_about_a_run(page_test, app_engine, tmp_path, monkeypatch):  # noqa: F811
    from engine.workflow_file import parse_workflow_text
    from tests.automation.test_notify import FAILING, Receiver, scan_until, write_settings

    receiver = Receiver()
    try:
        write_settings(tmp_path, monkeypatch, None, receiver)
        spec = parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["ops-hook"]\n'))
        eid = app_engine.run(spec, {}).execution_id
        scan_until(app_engine.store, lambda: receiver.posts, "the post")
    finally:
        receiver.close()
    at = page_test("history")
    at.query_params["run"] = eid
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [e.label for e in at.expander]
    assert "Notifications about this run (2 delivery records)" in labels


def test_settings_show_the_channels_and_send_a_test_message(page_test, app_engine, tmp_path, monkeypatch):  # noqa: F811
    from tests.automation.test_notify import Receiver, write_settings

    receiver = Receiver()
    try:
        write_settings(tmp_path, monkeypatch, None, receiver)
        at = page_test("settings")
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert "Notifications" in [s.value for s in at.subheader]
        shown = "\n".join(d.value.to_string() for d in at.dataframe if "target" in d.value.columns)
        assert "ops-hook" in shown and "team" in shown and "(secret URL)" in shown
        assert "services/T000" not in shown  # the Slack URL's path is a credential
        at.selectbox(key="set.notify.channel").select("ops-hook")
        next(b for b in at.button if b.key == "btn.set.notify.test").click()
        at.run()
        assert receiver.posts and receiver.posts[0]["text"].startswith("Test message from the workbench")
    finally:
        receiver.close()
