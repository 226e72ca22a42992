"""HTTP action: allowlisted hosts on every redirect hop, a total deadline, no silent truncation,
and internal (loopback/private) addresses only when an administrator lists them.

The servers are real HTTP servers on 127.0.0.1, so each test allowlists loopback explicitly.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.actions import execute_state

MB = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        path = self.path
        if path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", path[len("/redirect-to/") :].replace("__", "://", 1))
            self.end_headers()
        elif path == "/drip":  # headers at once, then one byte every second for 30 s
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(30):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        elif path.startswith("/big"):
            body = b"y" * (6 * MB)
            self.send_response(200)
            if path == "/big-declared":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass
        else:
            body = json.dumps({"path": path, "host": self.headers.get("Host")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _http(url: str, **binding) -> dict:
    return execute_state(
        {
            "action": "http",
            "binding": {"action": "http", "url": url, "into": "resp", **binding},
            "context": {},
            "state": "h",
        }
    )


def test_loopback_is_refused_unless_an_administrator_allowlists_it(server, monkeypatch):
    monkeypatch.delenv("WORKBENCH_HTTP_ALLOWED_HOSTS", raising=False)
    out = _http(f"http://127.0.0.1:{server}/x")
    assert out["status"] == "failed" and out["error_type"] == "PermissionError"
    assert "'127.0.0.1' is not in the allowlist" in out["error_message"]
    # the workflow itself cannot allow an internal address: only the administrator's list can
    for host in ("127.0.0.1", "localhost"):
        out = _http(f"http://{host}:{server}/x", allowed_hosts=[host])
        assert out["status"] == "failed" and out["error_type"] == "PermissionError", out
        assert "internal address" in out["error_message"]
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    out = _http(f"http://127.0.0.1:{server}/x")
    assert out["status"] == "completed" and out["updates"]["resp"]["path"] == "/x"


def test_a_redirect_to_a_host_that_is_not_allowed_is_refused_and_nothing_is_stored(server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    out = _http(f"http://127.0.0.1:{server}/redirect-to/http__localhost:{server}/secret")
    assert out["status"] == "failed" and out["error_type"] == "PermissionError", out
    assert "redirect from 127.0.0.1" in out["error_message"] and "'localhost'" in out["error_message"]
    assert out["updates"] == {}
    out = _http(
        f"http://127.0.0.1:{server}/redirect-to/http__169.254.169.254/latest/meta-data",
        allowed_hosts=["169.254.169.254"],
    )
    assert out["status"] == "failed" and "internal address" in out["error_message"]
    # a redirect inside the allowlist is followed
    out = _http(f"http://127.0.0.1:{server}/redirect-to/http__127.0.0.1:{server}/landed")
    assert out["status"] == "completed" and out["updates"]["resp"]["path"] == "/landed"


def test_a_slow_drip_server_cannot_hold_the_state_past_its_total_deadline(server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    t0 = time.monotonic()
    out = _http(f"http://127.0.0.1:{server}/drip", timeout_s=3)
    elapsed = time.monotonic() - t0
    assert out["status"] == "failed" and out["error_type"] == "TimeoutError", out
    assert "longer than its limit of 3 s" in out["error_message"]
    assert elapsed < 5, f"held {elapsed:.1f} s for a 3 s deadline"


@pytest.mark.parametrize("path", ["/big", "/big-declared"])
def test_an_oversized_answer_is_an_error_not_cut_silently(server, monkeypatch, path):
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    out = _http(f"http://127.0.0.1:{server}{path}")
    assert out["status"] == "failed" and out["error_type"] == "ValueError", out
    assert "over the limit of 5,000,000" in out["error_message"] and "refused rather than cut" in out["error_message"]
    assert out["updates"] == {}


def test_the_size_limit_is_an_admin_setting(server, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    settings = tmp_path / "security.toml"
    settings.write_text("http_max_bytes = 8000000\n")
    monkeypatch.setenv("WORKBENCH_SECURITY_FILE", str(settings))
    out = _http(f"http://127.0.0.1:{server}/big")
    assert out["status"] == "completed" and len(out["updates"]["resp"]) == 6 * MB
