"""A planted secret used by http, sql and python states (one failing while quoting it) appears nowhere:
not in any DuckDB table (every column as text), the store's log segments, the CLI's output and logs,
Ray's own log files, nor an export. The run happens in a real ``workbench run`` process with its own Ray,
so the secret is resolved on a Ray worker from that process's environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "pl4nted-S3cret-7c1e"

WORKFLOW = """
name = "Secret use"
dsl = "start->call_api; call_api->query; query->py_echo; py_echo->py_fail; py_fail->end;"

[settings]
ai_decisions = false
auto_recovery = false

[states.call_api]
action = "http"
url = "{base}/echo?key={{secret:PLANTED_TOKEN}}"
method = "POST"
headers = {{ Authorization = "Bearer {{secret:PLANTED_TOKEN}}" }}
body = {{ token = "{{secret:PLANTED_TOKEN}}" }}
into = "api"
timeout_s = 120

[states.query]
action = "sql"
query = "SELECT $token AS token, length($token) AS n"
params = {{ token = "{{secret:PLANTED_TOKEN}}" }}
output = "row"
into = "row"

[states.py_echo]
action = "python"
function = "tests.automation.secret_functions:echo"
params = {{ x = "{{secret:PLANTED_TOKEN}}" }}

[states.py_fail]
action = "python"
function = "tests.automation.secret_functions:fail_with"
params = {{ x = "{{secret:PLANTED_TOKEN}}" }}
"""


class _Echo(BaseHTTPRequestHandler):
    received: list[str] = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode()
        _Echo.received.append(self.headers.get("Authorization") or "")
        payload = json.dumps({"path": self.path, "auth": self.headers.get("Authorization"), "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _files_containing(folder: Path, needle: bytes) -> list[str]:
    hits = []
    for p in folder.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink() and needle in p.read_bytes():
                hits.append(str(p))
        except OSError:
            continue
    return hits


def _tables_containing(db: Path, needle: str) -> tuple[int, list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        hits, rows_seen = [], 0
        for t in tables:
            cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            casts = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
            for row in con.execute(f'SELECT {casts} FROM "{t}"').fetchall():
                rows_seen += 1
                if any(v is not None and needle in v for v in row):
                    hits.append(t)
                    break
        return rows_seen, hits
    finally:
        con.close()


def test_planted_secret_is_used_but_never_stored_or_logged(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    ray_tmp = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))  # short: Ray's socket paths have a length limit
    try:
        wf = tmp_path / "secret_use.toml"
        wf.write_text(WORKFLOW.format(base=f"http://127.0.0.1:{srv.server_address[1]}"))
        db = tmp_path / "w.duckdb"
        env = dict(
            os.environ,
            WORKBENCH_DB=str(db),
            PYTHONPATH=str(ROOT),
            RAY_ADDRESS="local",
            RAY_TMPDIR=str(ray_tmp),
            WORKBENCH_RAY_CPUS="2",
            WORKBENCH_RAY_OBJECT_STORE_MB="200",
            WORKBENCH_LOG_LEVEL="DEBUG",
            WORKBENCH_HTTP_ALLOWED_HOSTS="127.0.0.1",
            WORKBENCH_SECRET_PLANTED_TOKEN=PLANTED,
            WORKBENCH_SECRETS_FILE=str(tmp_path / "none.toml"),
        )
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(name, None)
        run = subprocess.run(
            [sys.executable, "-m", "engine.cli", "run", str(wf), "--execution", "ray", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert run.stdout.strip(), run.stderr[-3000:]
        out = json.loads(run.stdout)
        assert out["status"] == "failed" and out["states_visited"][-1] == "py_echo", (out, run.stderr[-3000:])
        # the secret was really used: the server got it, the SQL state saw its length, the failure quotes it
        assert _Echo.received and set(_Echo.received) == {f"Bearer {PLANTED}"}
        assert out["final_context"]["row"] == {"token": "[redacted:PLANTED_TOKEN]", "n": len(PLANTED)}
        assert out["final_context"]["echo"] == "[redacted:PLANTED_TOKEN]"
        export = tmp_path / "export"
        exp = subprocess.run(
            [sys.executable, "-m", "engine.cli", "export", "--parquet", str(export), "--history"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert exp.returncode == 0, exp.stderr
        show = subprocess.run(
            [sys.executable, "-m", "engine.cli", "show", out["execution_id"]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "[redacted:PLANTED_TOKEN]" in show.stdout  # the failure is recorded, redacted

        rows_seen, tables = _tables_containing(db, PLANTED)
        assert rows_seen > 20 and tables == []
        assert PLANTED not in run.stdout + run.stderr + exp.stdout + exp.stderr + show.stdout + show.stderr
        # the DuckDB file, its log segments, the export, the workflow (references only): nothing
        assert _files_containing(tmp_path, PLANTED.encode()) == []
        import pyarrow.parquet as pq

        exported = list(export.glob("*.parquet"))
        assert exported and all(PLANTED not in str(pq.read_table(p).to_pylist()) for p in exported)
        ray_logs = list(ray_tmp.rglob("*.log")) + list(ray_tmp.rglob("*.out")) + list(ray_tmp.rglob("*.err"))
        assert ray_logs, "Ray's logs were not written under RAY_TMPDIR"
        assert _files_containing(ray_tmp, PLANTED.encode()) == []
    finally:
        srv.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)
