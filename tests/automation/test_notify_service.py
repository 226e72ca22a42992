"""Real processes: two ``workbench serve`` services on one store notify about a run that failed in a
third process (``workbench run``), each event once, also after one service is killed and replaced."""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.automation.conftest import wait_for
from tests.automation.test_notify import FAILING, Mailbox, Receiver, failing_cli_run, write_settings
from tests.service.conftest import start_server, stop_server


@pytest.fixture
def receivers():
    r, m = Receiver(), Mailbox()
    yield r, m
    r.close()
    m.close()


def _failing_run(db: Path, wf: Path) -> str:
    return failing_cli_run(wf, WORKBENCH_DB=str(db))


def _run_ids(mailbox: Mailbox) -> list[str]:
    import email
    import email.policy

    return [
        email.message_from_string(m["data"], policy=email.policy.default)["X-Workbench-Run"] for m in mailbox.messages
    ]


@pytest.mark.slow
def test_two_services_notify_each_failed_run_once_across_a_kill(tmp_path, monkeypatch, receivers):
    receiver, mailbox = receivers
    write_settings(tmp_path, monkeypatch, mailbox, receiver)
    monkeypatch.setenv("WORKBENCH_NOTIFY_EVERY_S", "0.3")
    monkeypatch.setenv("WORKBENCH_AUTOMATION", "0")
    wf = tmp_path / "nightly.toml"
    wf.write_text(FAILING.format(extra='[notifications]\nchannels = ["ops-mail", "ops-hook"]\n'))
    home = tmp_path / "svc"
    home.mkdir()
    db = home / "workbench.duckdb"
    with ThreadPoolExecutor(2) as pool:  # both start at once
        servers = list(
            pool.map(lambda _: start_server(home, args=["--no-ray"], ready_path="/health", ready_timeout=120), [0, 1])
        )
    try:
        runs = [_failing_run(db, wf)]
        wait_for(lambda: set(runs) <= set(_run_ids(mailbox)), 60, what="the e-mail")
        wait_for(lambda: set(runs) <= {p["execution_id"] for p in receiver.posts}, 60, what="the post")
        servers[0].proc.kill()  # no clean shutdown; a new service takes its place
        servers[0].proc.wait(10)
        servers[0] = start_server(home, args=["--no-ray"], ready_path="/health", ready_timeout=120)
        runs.append(_failing_run(db, wf))
        # the second run's notifications arriving is the barrier: every service scanned many times since
        # the first run's were claimed (every 0.3 s), so a duplicate would have been sent by now
        wait_for(lambda: set(runs) <= set(_run_ids(mailbox)), 60, what="the second e-mail")
        wait_for(lambda: set(runs) <= {p["execution_id"] for p in receiver.posts}, 60, what="the second post")
        assert collections.Counter(_run_ids(mailbox)) == {r: 1 for r in runs}
        assert collections.Counter(p["execution_id"] for p in receiver.posts) == {r: 1 for r in runs}
        assert all(p["link"].endswith(f"/history?run={p['execution_id']}") for p in receiver.posts)

        # the API lists the claims and attempts (any live service answers from the shared records)
        def sent_rows():
            rows = httpx.get(f"{servers[1].url}/api/v1/notifications", timeout=30).json()["notifications"]
            sent = [r for r in rows if r["status"] == "sent"]
            return sent if len(sent) >= 4 else None  # a row lands just after its message was accepted

        listed = wait_for(sent_rows, 60, what="the sent rows in the API")
        assert collections.Counter((r["execution_id"], r["channel"]) for r in listed) == {
            (r, c): 1 for r in runs for c in ("ops-mail", "ops-hook")
        }
        misses = httpx.get(f"{servers[1].url}/api/v1/deadline-misses", timeout=30)
        assert misses.status_code == 200 and misses.json() == {"deadline_misses": []}
    finally:
        for s in servers:
            stop_server(s)
