"""Secrets: sources and their order, refused files, clear errors, worker-side resolution, redaction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine import secrets
from engine.actions import execute_state
from engine.actions.templating import fill

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "s3cr3t-Planted-9f2c"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No secrets but the ones a test defines: an empty cwd, a private user file path, no env secrets."""
    for key in list(os.environ):
        if key.startswith(secrets.ENV_PREFIX):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(secrets.FILE_ENV, str(tmp_path / "user" / "secrets.toml"))
    return tmp_path


def _user_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "user" / "secrets.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_sources_in_order_env_then_streamlit_then_user_file(isolated, monkeypatch):
    _user_file(isolated, 'API_KEY = "from-user-file"\nONLY_FILE = "file-value"\n')
    assert secrets.get_secret("API_KEY") == "from-user-file"
    st = isolated / ".streamlit"
    st.mkdir()
    (st / "secrets.toml").write_text('OPENAI_API_KEY = "x"\n[workbench.secrets]\nAPI_KEY = "from-streamlit"\n')
    assert secrets.get_secret("API_KEY") == "from-streamlit"
    monkeypatch.setenv("WORKBENCH_SECRET_API_KEY", "from-env")
    assert secrets.get_secret("API_KEY") == "from-env"
    assert secrets.get_secret("ONLY_FILE") == "file-value"
    listed = {s["name"]: s["source"] for s in secrets.list_secrets()}
    assert listed["API_KEY"] == "environment" and listed["ONLY_FILE"].endswith("secrets.toml")
    assert "OPENAI_API_KEY" not in listed  # only the [workbench.secrets] table of the Streamlit file
    assert "from-env" not in json.dumps(secrets.list_secrets())


def test_user_file_readable_by_others_is_refused(isolated):
    path = _user_file(isolated, f'TOKEN = "{PLANTED}"\n', mode=0o644)
    with pytest.raises(secrets.SecretError) as err:
        secrets.get_secret("TOKEN")
    assert "chmod 600" in str(err.value) and str(path) in str(err.value) and PLANTED not in str(err.value)
    path.chmod(0o600)
    assert secrets.get_secret("TOKEN") == PLANTED


def test_unknown_secret_names_it_and_the_three_places(isolated):
    with pytest.raises(secrets.SecretError) as err:
        secrets.check_available({"MISSING_ONE"})
    msg = str(err.value)
    assert "'MISSING_ONE'" in msg and "WORKBENCH_SECRET_MISSING_ONE" in msg
    assert ".streamlit/secrets.toml" in msg and "[workbench.secrets]" in msg and secrets.FILE_ENV in msg


def test_broken_toml_error_never_quotes_the_file(isolated):
    _user_file(isolated, f'TOKEN = "{PLANTED}\n')  # unterminated string: the parser would quote the line
    with pytest.raises(secrets.SecretError) as err:
        secrets.get_secret("TOKEN")
    assert PLANTED not in str(err.value)


def test_references_and_resolve_walk_nested_values(isolated, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SECRET_TOKEN", PLANTED)
    obj = {"headers": {"Authorization": "Bearer {secret:TOKEN}"}, "params": [{"x": "{secret:OTHER}"}]}
    assert secrets.find_references(obj) == {"TOKEN", "OTHER"}
    assert secrets.resolve({"a": ["k={secret:TOKEN}"]}) == {"a": [f"k={PLANTED}"]}


def test_context_values_never_resolve_a_reference(isolated, monkeypatch):
    """A run input (e.g. a webhook body) holding {secret:X} is inserted as text, not resolved."""
    monkeypatch.setenv("WORKBENCH_SECRET_TOKEN", PLANTED)
    out = fill("https://h/{q}?k={secret:TOKEN}", {"q": "{secret:TOKEN}"}, secrets=True)
    assert out == "https://h/{secret:TOKEN}?k=" + PLANTED
    assert fill("{secret:TOKEN}", {}) == "{secret:TOKEN}"  # templates without secrets=True leave it


def test_redact_covers_raw_url_and_json_forms(isolated, monkeypatch):
    value = 'p@ss w/"q"'
    monkeypatch.setenv("WORKBENCH_SECRET_PW", value)
    text = f"raw {value} url p%40ss%20w%2F%22q%22 plus p%40ss+w%2F%22q%22 json {json.dumps(value)}"
    red = secrets.redact(text)
    assert "p@ss" not in red and "p%40ss" not in red and 'w/\\"q' not in red
    assert red.count("[redacted:PW]") == 4
    assert secrets.redact({value: [value]}) == {"[redacted:PW]": ["[redacted:PW]"]}


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _answer(self):
        if self.path.startswith("/hop"):  # to the same server under another host name
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_address[1]}/landed")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = json.dumps(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "key": self.headers.get("X-Api-Key"),
                "body": body,
            }
        ).encode()
        self.send_response(500 if "/fail" in self.path else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer


@pytest.fixture
def echo_server(monkeypatch):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _state(action, binding, context=None):
    return execute_state({"action": action, "binding": {"action": action, **binding}, "context": context or {}})


def test_http_state_sends_the_secret_and_returns_it_redacted(isolated, monkeypatch, echo_server):
    monkeypatch.setenv("WORKBENCH_SECRET_TOKEN", PLANTED)
    out = _state(
        "http",
        {
            "url": echo_server + "/items?key={secret:TOKEN}",
            "method": "POST",
            "headers": {"Authorization": "Bearer {secret:TOKEN}"},
            "body": {"token": "{secret:TOKEN}", "quoted": 'say "{secret:TOKEN}"'},
            "into": "resp",
        },
    )
    assert out["status"] == "completed", out
    resp = out["updates"]["resp"]
    # the server got the real value (in the URL, the header and the JSON body) …
    assert resp["auth"] == "Bearer [redacted:TOKEN]" and "[redacted:TOKEN]" in resp["path"]
    assert json.loads(resp["body"].replace("[redacted:TOKEN]", "X")) == {"token": "X", "quoted": 'say "X"'}
    # … and the outcome holds no trace of it
    assert PLANTED not in json.dumps(out)


def test_failing_states_that_echo_the_secret_are_redacted(isolated, monkeypatch, echo_server):
    monkeypatch.setenv("WORKBENCH_SECRET_TOKEN", PLANTED)
    monkeypatch.setenv("WORKBENCH_SECRET_MISSING_HOST", "no-such-host.invalid")
    out = _state(
        "python", {"function": "tests.automation.secret_functions:fail_with", "params": {"x": "{secret:TOKEN}"}}
    )
    assert out["status"] == "failed" and "[redacted:TOKEN]" in out["error_message"]
    assert PLANTED not in json.dumps(out)
    out = _state("python", {"function": "tests.automation.secret_functions:echo", "params": {"x": "{secret:TOKEN}"}})
    assert out["status"] == "completed" and out["updates"] == {"echo": "[redacted:TOKEN]"}
    out = _state(
        "sql", {"query": "SELECT $token AS t, 1/0 AS boom", "params": {"token": "{secret:TOKEN}"}, "output": "row"}
    )
    assert PLANTED not in json.dumps(out)
    out = _state("sql", {"query": "SELECT CAST($token AS INTEGER)", "params": {"token": "{secret:TOKEN}"}})
    assert out["status"] == "failed" and PLANTED not in json.dumps(out)  # DuckDB quotes the value in its error
    out = _state("http", {"url": echo_server + "/fail/{secret:TOKEN}"})
    assert out["status"] == "failed" and PLANTED not in json.dumps(out)


def test_unknown_secret_in_a_state_fails_naming_it(isolated):
    out = _state("http", {"url": "https://example.com/?k={secret:NOPE}", "allowed_hosts": ["example.com"]})
    assert out["status"] == "failed" and "'NOPE'" in out["error_message"]
    assert "WORKBENCH_SECRET_NOPE" in out["error_message"]


def test_cli_secrets_list_shows_names_and_sources_never_values(isolated):
    _user_file(isolated, f'FROM_FILE = "{PLANTED}-file"\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_SECRET_FROM_ENV=PLANTED)
    p = subprocess.run(
        [sys.executable, "-m", "engine.cli", "secrets", "list"], cwd=isolated, env=env, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    assert "FROM_ENV" in p.stdout and "environment" in p.stdout and "FROM_FILE" in p.stdout
    assert PLANTED not in p.stdout + p.stderr
    p = subprocess.run(
        [sys.executable, "-m", "engine.cli", "secrets", "list", "--json"],
        cwd=isolated,
        env=env,
        capture_output=True,
        text=True,
    )
    assert {s["name"] for s in json.loads(p.stdout)} >= {"FROM_ENV", "FROM_FILE"}


def test_secret_headers_are_not_forwarded_to_another_host_on_redirect(isolated, monkeypatch, echo_server):
    monkeypatch.setenv("WORKBENCH_SECRET_TOKEN", PLANTED)
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1,localhost")
    headers = {"X-Api-Key": "{secret:TOKEN}", "X-Plain": "kept"}
    same = _state("http", {"url": echo_server + "/direct", "headers": headers, "into": "r"})
    assert same["updates"]["r"]["key"] == "[redacted:TOKEN]"  # sent where the binding points
    hop = _state("http", {"url": echo_server + "/hop", "headers": headers, "into": "r"})
    assert hop["status"] == "completed", hop
    assert hop["updates"]["r"]["path"] == "/landed" and hop["updates"]["r"]["key"] is None
