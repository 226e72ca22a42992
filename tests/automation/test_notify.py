"""Notifications with real receivers: a local SMTP server (aiosmtpd) and a local HTTP server thread.

Runs are real (the inline engine or a ``workbench run`` subprocess); the notifier reads the records.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.automation.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]

FAILING = """
name = "Nightly load"
dsl = "start->extract; extract->load; load->end;"
[settings]
auto_recovery = false
[states.extract]
action = "noop"
[states.load]
action = "python"
function = "tests.engine.functions:fail_with"
params = {{ message = "warehouse refused the rows" }}
execution = "inline"
{extra}
"""

APPROVAL = """
name = "Refund approval"
dsl = "start->prepare; prepare->sign_off; sign_off->end;"
[states.sign_off]
action = "approval"
message = "Refund {{amount}} EUR to customer {{customer}}?"
{extra}
"""


# ----------------------------------------------------------------------------- receivers
class Receiver:
    """A local HTTP server thread recording JSON POSTs; answers ``fail_first`` times with 500."""

    def __init__(self, fail_first: int = 0):
        self.posts: list[dict] = []
        self.paths: list[str] = []
        self.fail_first = fail_first
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.calls += 1
                if receiver.calls <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.posts.append(json.loads(body))
                receiver.paths.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd collecting messages (AUTH allowed without TLS for the test: user bot / the secret)."""

    def __init__(self, password: str = "s3cret-smtp-pass"):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[dict] = []
        self.logins: list[str] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append(
                    {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content.decode()}
                )
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == b"bot" and auth_data.password == password.encode()
            if ok:
                box.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
        )
        self.controller.start()

    def close(self):
        self.controller.stop()


def failing_cli_run(wf: Path, **env: str) -> str:
    """Run ``wf`` with ``workbench run`` in a process of its own (extra ``env``); it must fail. Its id."""
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(wf), "--execution", "inline", "--json", "-q"],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)["execution_id"]


def write_settings(tmp_path: Path, monkeypatch, mailbox: Mailbox | None, receiver: Receiver | None, extra: str = ""):
    """A notifications settings file with channels 'ops-mail' and 'ops-hook' (JSON) and 'team' (Slack)."""
    lines = ['app_url = "http://wb.example:8501"', "[retry]", "max_attempts = 3", "backoff_s = 0.2"]
    if mailbox is not None:
        lines += [
            "[smtp]",
            'host = "127.0.0.1"',
            f"port = {mailbox.port}",
            'username = "bot"',
            'password = "{secret:SMTP_PASSWORD}"',
            'sender = "workbench@example.com"',
            "[channels.ops-mail]",
            'type = "email"',
            'to = ["oncall@example.com"]',
        ]
    if receiver is not None:
        lines += ["[channels.ops-hook]", 'type = "webhook"', f'url = "{receiver.url}/hook"']
        lines += ["[channels.team]", 'type = "slack"', 'url = "{secret:SLACK_URL}"']
    path = tmp_path / "notifications.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    monkeypatch.setenv("WORKBENCH_NOTIFICATIONS_FILE", str(path))
    monkeypatch.setenv("WORKBENCH_SECRET_SMTP_PASSWORD", "s3cret-smtp-pass")
    if receiver is not None:
        monkeypatch.setenv("WORKBENCH_SECRET_SLACK_URL", f"{receiver.url}/services/T000/B000/XXXXSECRETXXXX")
    monkeypatch.delenv("WORKBENCH_APP_URL", raising=False)
    return path


def scan_until(store, check, what: str, notifier=None, timeout: float = 40.0):
    from engine.automation.notifier import Notifier

    n = notifier or Notifier(store)
    try:
        return wait_for(lambda: (n.scan_once(wait=True), check())[1], timeout, 0.1, what)
    finally:
        if notifier is None:
            n.stop()


def rows(store, execution_id: str | None = None) -> list[dict]:
    where = "WHERE execution_id = ?" if execution_id else ""
    return store.query(
        f"SELECT * FROM notifications {where} ORDER BY created_at, attempt", [execution_id] if execution_id else []
    )


# ----------------------------------------------------------------------------- tests
def test_a_failing_cli_run_emails_and_posts_with_the_run_link(tmp_path, monkeypatch, store, mailbox, receiver):
    """A run failed in another process (``workbench run``): e-mail + JSON webhook + Slack, each once."""
    write_settings(tmp_path, monkeypatch, mailbox, receiver)
    wf = tmp_path / "nightly.toml"
    wf.write_text(FAILING.format(extra='[notifications]\nchannels = ["ops-mail", "ops-hook", "team"]\n'))
    eid = failing_cli_run(wf)
    link = f"http://wb.example:8501/history?run={eid}"
    scan_until(store, lambda: mailbox.messages and len(receiver.posts) >= 2, "an e-mail and two posts")

    mail = mailbox.messages[0]
    assert mail["to"] == ["oncall@example.com"] and mailbox.logins == ["bot"]
    parsed = email.message_from_string(mail["data"], policy=email.policy.default)
    assert parsed["Subject"] == "[workbench] Run failed: Nightly load v1"
    body = parsed.get_content()
    assert "warehouse refused the rows" in body and link in body and "'load'" in body
    hook = next(p for p, path in zip(receiver.posts, receiver.paths) if path == "/hook")
    assert hook["event"] == "failed" and hook["execution_id"] == eid and hook["state"] == "load"
    assert hook["link"] == link and hook["workflow"]["name"] == "Nightly load"
    assert "warehouse refused the rows" in hook["error"]
    slack = next(p for p, path in zip(receiver.posts, receiver.paths) if path.startswith("/services/"))
    assert link in slack["text"] and slack["blocks"][0]["type"] == "header"
    assert any(e.get("url") == link for b in slack["blocks"] for e in b.get("elements", []))

    # a second pass (and a new notifier, as after a restart) sends nothing again
    from engine.automation.notifier import Notifier

    n2 = Notifier(store)
    assert n2.scan_once(wait=True) == []
    n2.stop()
    recorded = rows(store, eid)
    assert sorted((r["channel"], r["status"]) for r in recorded) == sorted(
        [(c, s) for c in ("ops-mail", "ops-hook", "team") for s in ("claimed", "sent")]
    )
    assert len(mailbox.messages) == 1 and len(receiver.posts) == 2
    # the Slack URL (a credential) and the SMTP password are nowhere in the records
    dump = json.dumps(recorded, default=str)
    assert "XXXXSECRETXXXX" not in dump and "s3cret-smtp-pass" not in dump


def test_a_receiver_failing_first_then_succeeding_records_two_attempts(tmp_path, monkeypatch, store, inline_engine):
    from engine.workflow_file import parse_workflow_text

    flaky = Receiver(fail_first=1)
    try:
        write_settings(tmp_path, monkeypatch, None, flaky)
        spec = parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["ops-hook"]\n'))
        eid = inline_engine.run(spec, {}).execution_id
        scan_until(store, lambda: flaky.posts, "the second attempt to get through")
        attempts = [(r["attempt"], r["status"]) for r in rows(store, eid)]
        assert attempts == [(0, "claimed"), (1, "error"), (2, "sent")]
        assert "HTTP 500" in rows(store, eid)[1]["error"]
        assert flaky.calls == 2
    finally:
        flaky.close()


def test_a_receiver_that_never_answers_gives_up_after_max_attempts(tmp_path, monkeypatch, store, inline_engine):
    from engine.workflow_file import parse_workflow_text

    down = Receiver(fail_first=100)
    try:
        write_settings(tmp_path, monkeypatch, None, down)
        spec = parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["ops-hook"]\n'))
        eid = inline_engine.run(spec, {}).execution_id
        scan_until(store, lambda: any(r["status"] == "gave_up" for r in rows(store, eid)), "giving up")
        assert [(r["attempt"], r["status"]) for r in rows(store, eid)] == [
            (0, "claimed"),
            (1, "error"),
            (2, "error"),
            (3, "gave_up"),
        ]
    finally:
        down.close()


def test_a_waiting_approval_notifies_once_even_with_two_notifiers(
    tmp_path, monkeypatch, store, inline_engine, receiver
):
    from engine.automation.notifier import Notifier
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, receiver)
    spec = parse_workflow_text(
        APPROVAL.format(extra='[notifications]\nchannels = ["ops-hook"]\non = ["waiting", "completed"]\n')
    )
    eid = inline_engine.start(spec, {"amount": 40, "customer": "C-17"})
    wait_for(lambda: (inline_engine.execution_row(eid) or {}).get("status") == "waiting", what="waiting")
    store.flush()
    a, b = Notifier(store), Notifier(store)  # two services on one store
    try:
        for _ in range(3):
            a.scan_once(wait=True)
            b.scan_once(wait=True)
        wait_for(lambda: receiver.posts, what="the waiting notification")
        assert len(receiver.posts) == 1
        post = receiver.posts[0]
        assert post["event"] == "waiting" and post["request_kind"] == "approval" and post["state"] == "sign_off"
        assert post["question"] == "Refund 40 EUR to customer C-17?" and eid in post["link"]
        # answered: the run completes and 'completed' is sent once more, the approval not again
        inline_engine.answer(eid, "sign_off", "yes", by="test")
        inline_engine.wait(eid, timeout=30)
        scan_until(store, lambda: len(receiver.posts) >= 2, "the completed notification", notifier=a)
        b.scan_once(wait=True)
        assert [p["event"] for p in receiver.posts] == ["waiting", "completed"]
    finally:
        a.stop()
        b.stop()


def test_the_default_applies_to_workflows_without_notifications(tmp_path, monkeypatch, store, inline_engine, mailbox):
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, mailbox, None, extra='[default]\nchannels = ["ops-mail"]\non = ["failed"]\n')
    failed = inline_engine.run(parse_workflow_text(FAILING.format(extra=""))).execution_id
    quiet = inline_engine.run(
        parse_workflow_text(FAILING.format(extra="[notifications]\nenabled = false\n"))
    ).execution_id
    scan_until(store, lambda: mailbox.messages, "the default e-mail")
    assert rows(store, quiet) == [] and {r["status"] for r in rows(store, failed)} == {"claimed", "sent"}
    assert len(mailbox.messages) == 1


def test_a_workflow_url_channel_obeys_the_http_sandbox(tmp_path, monkeypatch, store, inline_engine, receiver):
    """A URL written in a workflow (not the administrator's file) may not reach internal hosts."""
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, receiver)
    monkeypatch.delenv("WORKBENCH_HTTP_ALLOWED_HOSTS", raising=False)
    extra = f'[notifications]\nchannels = [{{ type = "webhook", url = "{receiver.url}/x", allowed_hosts = ["127.0.0.1"] }}]\n'
    eid = inline_engine.run(parse_workflow_text(FAILING.format(extra=extra))).execution_id
    scan_until(store, lambda: any(r["status"] == "gave_up" for r in rows(store, eid)), "refusal")
    assert receiver.posts == [] and "internal address" in rows(store, eid)[-1]["error"]


def test_notifications_config_is_validated_and_round_trips():
    from engine.workflow_file import WorkflowFileError, parse_workflow_text

    spec = parse_workflow_text(
        FAILING.format(
            extra='[notifications]\non = ["failed", "deadline"]\n'
            'channels = ["ops", { type = "email", to = ["a@example.com"] }]\n'
        )
    )
    again = parse_workflow_text(spec.to_toml())
    assert again.notifications == spec.notifications and again.notifications.on == ["failed", "deadline"]
    with pytest.raises(WorkflowFileError, match="needs 'url'"):
        parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = [{ type = "slack" }]\n'))
    with pytest.raises(WorkflowFileError, match="on"):
        parse_workflow_text(FAILING.format(extra='[notifications]\non = ["exploded"]\n'))


def test_workbench_notifications_lists_the_attempts(tmp_path, monkeypatch, store, inline_engine, receiver):
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, receiver)
    eid = inline_engine.run(
        parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["ops-hook"]\n'))
    ).execution_id
    scan_until(store, lambda: receiver.posts, "the post")
    store.flush()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "notifications", "--execution", eid, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [(r["status"], r["attempt"], r["channel"]) for r in listed] == [
        ("sent", 1, "ops-hook"),
        ("claimed", 0, "ops-hook"),
    ]


def test_a_dead_notifiers_unfinished_claim_is_taken_over_and_a_live_ones_is_not(
    tmp_path, monkeypatch, store, inline_engine, receiver
):
    import datetime as dt
    import socket

    from engine import leases
    from engine.automation import notifier as nt
    from engine.automation import notify
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, receiver)
    spec = parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["ops-hook"]\n'))
    dead_run = inline_engine.run(spec).execution_id
    live_run = inline_engine.run(spec).execution_id
    settings = notify.load_settings()
    since = nt._now() - dt.timedelta(minutes=5)
    events = {k: e for k, e in nt.finished_run_events(store, since, settings)}
    dead = f"{socket.gethostname()}:999999:gone:notify"  # claimed, then its process died before sending
    alive = f"{socket.gethostname()}:{os.getpid()}:busy:notify"  # claimed and still retrying
    leases.renew(store, alive)
    assert len(nt.claim(store, dead, [(f"{dead_run}:failed", events[f"{dead_run}:failed"])], settings)) == 1
    assert len(nt.claim(store, alive, [(f"{live_run}:failed", events[f"{live_run}:failed"])], settings)) == 1

    scan_until(store, lambda: receiver.posts, "the taken-over notification")
    nt.Notifier(store).scan_once(wait=True)
    assert [p["execution_id"] for p in receiver.posts] == [dead_run]
    mine = [(r["owner"] == dead, r["attempt"], r["status"]) for r in rows(store, dead_run)]
    assert mine == [(True, 0, "claimed"), (False, 0, "claimed"), (False, 1, "sent")]
    assert "taken over from" in rows(store, dead_run)[1]["detail"]
    assert [r["status"] for r in rows(store, live_run)] == ["claimed"]


def test_workbench_notifications_scan_and_test_without_a_service(tmp_path, monkeypatch, store, inline_engine, receiver):
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, receiver)
    eid = inline_engine.run(
        parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["ops-hook"]\n'))
    ).execution_id
    store.flush()
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", "notifications", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    out = cli("scan")
    assert out.returncode == 0, out.stderr
    assert [p["execution_id"] for p in receiver.posts] == [eid]
    assert cli("scan").returncode == 0 and len(receiver.posts) == 1  # once only, across processes
    out = cli("test", "ops-hook", "--message", "hello from the CLI")
    assert out.returncode == 0 and "HTTP 200" in out.stdout
    assert receiver.posts[-1]["text"].startswith("hello from the CLI")
    out = cli("test", "nowhere")
    assert out.returncode == 1 and "no notification channel named 'nowhere'" in out.stderr


def test_a_slack_channel_without_blocks_posts_only_text(tmp_path, monkeypatch, store, inline_engine, receiver):
    from engine.workflow_file import parse_workflow_text

    extra = f'[channels.plain]\ntype = "slack"\nurl = "{receiver.url}/plain"\nblocks = false\n'
    write_settings(tmp_path, monkeypatch, None, receiver, extra=extra)
    eid = inline_engine.run(
        parse_workflow_text(FAILING.format(extra='[notifications]\nchannels = ["plain", "team"]\n'))
    ).execution_id
    scan_until(store, lambda: len(receiver.posts) == 2, "two posts")
    by_path = {path.split("/")[1]: post for path, post in zip(receiver.paths, receiver.posts)}
    assert list(by_path["plain"]) == ["text"] and eid in by_path["plain"]["text"]
    assert set(by_path["services"]) == {"text", "blocks"}
