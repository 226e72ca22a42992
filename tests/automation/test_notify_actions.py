"""The ``notify`` and ``email`` step actions against a local HTTP receiver and a local SMTP server."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.automation.test_notify import Receiver, write_settings

STEPS = """
name = "Daily report"
dsl = "start->total; total->tell; tell->post; post->mail; mail->end;"
[states.total]
action = "python"
function = "tests.engine.functions:add"
params = {{ amount = 42 }}
execution = "inline"
[states.tell]
action = "notify"
channel = "slack"
url = "{{secret:STEP_SLACK}}"
message = "Report ready: {{total}} orders"
execution = "inline"
[states.post]
action = "notify"
channel = "webhook"
url = "{url}/report/{{total}}"
message = "total={{total}}"
into = "posted"
execution = "inline"
[states.mail]
action = "email"
to = ["boss@example.com", "{{owner}}"]
subject = "Daily report: {{total}}"
message = "Today's total is {{total}}."
execution = "inline"
"""


def test_notify_and_email_steps_send_filled_templates(tmp_path, monkeypatch, store, inline_engine, mailbox, receiver):
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, mailbox, receiver)
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")  # the administrator allows the local host
    monkeypatch.setenv("WORKBENCH_SECRET_STEP_SLACK", f"{receiver.url}/services/STEP/SECRETPATH")
    spec = parse_workflow_text(STEPS.format(url=receiver.url))
    res = inline_engine.run(spec, {"owner": "owner@example.com"})
    assert res.status == "completed", res.error

    by_path = dict(zip(receiver.paths, receiver.posts))
    slack = by_path["/services/STEP/SECRETPATH"]
    assert slack["text"].startswith("Report ready: 42 orders") and res.execution_id in slack["text"]
    hook = by_path["/report/42"]
    assert hook["text"].startswith("total=42") and hook["event"] == "step" and hook["state"] == "post"
    assert res.final_context["posted"]["sent"] is True and res.final_context["posted"]["channel"] == "webhook"

    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    assert sorted(mail["to"]) == ["boss@example.com", "owner@example.com"]
    parsed = email.message_from_string(mail["data"], policy=email.policy.default)
    assert parsed["Subject"] == "Daily report: 42" and "Today's total is 42." in parsed.get_content()
    # the secret URL is not in the records
    dump = str(store.query("SELECT * FROM state_transitions WHERE execution_id = ?", [res.execution_id]))
    assert "SECRETPATH" not in dump


def test_a_notify_step_to_an_internal_host_without_the_administrator_fails(
    tmp_path, monkeypatch, store, inline_engine, receiver
):
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, receiver)
    monkeypatch.delenv("WORKBENCH_HTTP_ALLOWED_HOSTS", raising=False)
    text = f"""
name = "probe"
dsl = "start->tell; tell->end;"
[settings]
auto_recovery = false
[states.tell]
action = "notify"
channel = "webhook"
url = "{receiver.url}/x"
allowed_hosts = ["127.0.0.1"]
message = "hi"
execution = "inline"
"""
    res = inline_engine.run(parse_workflow_text(text))
    assert res.status == "failed" and "internal address" in res.error
    assert receiver.posts == []


def test_a_notify_step_on_a_named_channel_and_a_failing_receiver(tmp_path, monkeypatch, store, inline_engine):
    from engine.workflow_file import parse_workflow_text

    flaky = Receiver(fail_first=1)
    try:
        write_settings(tmp_path, monkeypatch, None, flaky)
        text = """
name = "named"
dsl = "start->tell; tell->end;"
[settings]
auto_recovery = false
[states.tell]
action = "notify"
channel = "ops-hook"
message = "done {n}"
execution = "inline"
retry = { max_attempts = 2, backoff_s = 0.1 }
"""
        res = inline_engine.run(parse_workflow_text(text), {"n": 3})
        assert res.status == "completed", res.error
        assert flaky.calls == 2 and flaky.posts[0]["text"].startswith("done 3")
    finally:
        flaky.close()


def test_the_editor_schema_checks_notify_and_email_bindings():
    from engine.workflow_file import WorkflowFileError, parse_workflow_text

    base = 'name = "x"\ndsl = "start->a; a->end;"\n[states.a]\n'
    with pytest.raises(WorkflowFileError, match="needs 'message'"):
        parse_workflow_text(base + 'action = "notify"\nchannel = "slack"\n')
    with pytest.raises(WorkflowFileError, match="needs 'to'"):
        parse_workflow_text(base + 'action = "email"\nmessage = "hi"\n')
    with pytest.raises(WorkflowFileError, match="needs 'channel'"):
        parse_workflow_text(base + 'action = "notify"\nmessage = "hi"\n')
    spec = parse_workflow_text(base + 'action = "email"\nto = ["a@example.com"]\nsubject = "s"\nmessage = "m"\n')
    assert parse_workflow_text(spec.to_toml()).states["a"].to == ["a@example.com"]
