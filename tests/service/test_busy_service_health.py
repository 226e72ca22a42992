"""A busy service is still the service: the app and the CLI must not take a slow ``/health`` answer for
"no service" and drive the work themselves (a run the app drives stops when the app stops).

Seen in CI: a run launched from the app while the service was busy (its Ray starting, two cores) was
driven by the app's process, because ``/health`` took longer than the half second it was given.
A real HTTP server on 127.0.0.1 stands in for the busy service here: it answers ``/health`` late.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine import client
from tests.service.conftest import free_port


def _slow_health_server(delay_s: float, body: dict) -> tuple[ThreadingHTTPServer, list[float]]:
    asked: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(time.monotonic())
            time.sleep(delay_s)
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, asked


@pytest.fixture
def busy_service(monkeypatch) -> Iterator[tuple[str, list[float]]]:
    """A "service" whose /health answers after 1.5 s (three times the connect limit)."""
    from engine.store.common import store_id

    srv, asked = _slow_health_server(1.5, {"status": "ok", "store_id": store_id()})
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    monkeypatch.setattr(client, "_REACHABLE", {})
    yield url, asked
    srv.shutdown()
    srv.server_close()


def test_a_service_slow_to_answer_health_is_still_the_service(busy_service, monkeypatch):
    url, asked = busy_service
    monkeypatch.setenv("WORKBENCH_SERVER", url)
    assert client.reachable_server() == url
    assert len(asked) == 1


def test_a_service_that_takes_the_connection_but_never_answers_counts_as_busy_not_gone(monkeypatch):
    srv, asked = _slow_health_server(client.HEALTH_READ_S + 3, {"status": "ok"})
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    monkeypatch.setattr(client, "_REACHABLE", {})
    monkeypatch.setenv("WORKBENCH_SERVER", url)
    try:
        started = time.monotonic()
        assert client.reachable_server() == url
        assert time.monotonic() - started < client.HEALTH_READ_S + 2  # the read limit, not for ever
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_cli_finds_a_busy_service_on_its_store(busy_service):
    url, _ = busy_service
    assert client.service_for_this_store(url) == url


def test_nothing_listening_is_no_service_at_once(monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(client, "_REACHABLE", {})
    monkeypatch.setenv("WORKBENCH_SERVER", url)
    started = time.monotonic()
    assert client.reachable_server() is None
    assert client.service_for_this_store(url) is None
    assert time.monotonic() - started < 2


def test_a_remembered_no_is_asked_again_before_acting(busy_service, monkeypatch):
    """The pages remember the answer for a few seconds; a launch or an action asks again when the
    remembered answer was "no", so a moment's hiccup does not keep the run in the app."""
    from engine.workbench import run_actions

    url, asked = busy_service
    monkeypatch.setenv("WORKBENCH_SERVER", url)
    monkeypatch.setitem(client._REACHABLE, url, (time.monotonic(), False))  # "no" a moment ago
    assert client.reachable_server() is None  # the pages' cheap question trusts it
    assert asked == []
    assert run_actions.service_url() == url  # acting asks again
    assert len(asked) == 1
    assert client.reachable_server() == url  # and the pages now know
