"""SQL sandbox: a sql state reads only the files its binding names and writes only its artifacts folder.

Each escape of issue 13 (read_text, glob, ATTACH, COPY … TO a .py file in a functions folder, INSTALL,
LOAD, SET after the lock) must be refused with a clear message and leave nothing written.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.actions import execute_state

ROOT = Path(__file__).resolve().parents[2]


def _sql(query: str, tmp_path: Path, **binding) -> dict:
    return execute_state(
        {
            "action": "sql",
            "binding": {"action": "sql", "query": query, **binding},
            "context": {},
            "state": "q",
            "data_dir": str(ROOT / "data"),
            "artifacts_dir": str(tmp_path / "artifacts"),
            "execution_id": "run1",
        }
    )


def _refused(out: dict) -> str:
    assert out["status"] == "failed", out
    assert out["error_type"] == "PermissionError", out
    assert "refused by the SQL sandbox" in out["error_message"]
    return out["error_message"]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT content FROM read_blob('/proc/self/environ')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM glob('data/functions/*')",
        "ATTACH 'data/workbench.duckdb' AS store",
        "INSTALL httpfs",
        "LOAD httpfs",
        "CREATE SECRET leak (TYPE http)",
    ],
)
def test_reading_or_loading_anything_else_is_refused(tmp_path, query):
    message = _refused(_sql(query, tmp_path))
    assert "root:" not in message and "PATH=" not in message


def test_copy_to_a_python_file_in_a_functions_folder_is_refused_and_nothing_is_written(tmp_path):
    functions = tmp_path / "functions"
    functions.mkdir()
    target = functions / "evil.py"
    _refused(_sql(f"COPY (SELECT 'import os' AS line) TO '{target}' (HEADER false)", tmp_path))
    assert not target.exists()
    _refused(_sql("COPY (SELECT 1) TO 'data/functions/evil_13.py' (HEADER false)", tmp_path))
    assert not (ROOT / "data" / "functions" / "evil_13.py").exists()


def test_settings_cannot_be_changed_after_the_lock(tmp_path):
    message = _refused(_sql("SET enable_external_access = true; SELECT * FROM read_text('/etc/passwd')", tmp_path))
    assert "locked" in message
    _refused(_sql("SET allowed_directories = ['/']", tmp_path))
    _refused(_sql("RESET lock_configuration", tmp_path))


def test_the_named_files_are_readable_and_the_artifacts_folder_is_writable(tmp_path):
    files = {"sales": "samples/sales.csv"}
    out = _sql("SELECT count(*) FROM sales", tmp_path, files=files, output="scalar", into="n")
    assert out["status"] == "completed" and out["updates"]["n"] == 2000
    (tmp_path / "artifacts" / "run1").mkdir(parents=True)
    dest = tmp_path / "artifacts" / "run1" / "copy.csv"
    out = _sql(f"COPY (SELECT region FROM sales LIMIT 3) TO '{dest}'", tmp_path, files=files)
    assert out["status"] == "completed" and dest.read_text().count("\n") == 4
    # the named file only: a sibling of it is not readable through a table function
    _refused(_sql(f"SELECT * FROM read_csv('{ROOT / 'data' / 'samples'}/*.csv')", tmp_path, files=files))


@pytest.mark.parametrize(
    "path",
    [
        "../../../../../../../../etc/passwd",
        "/etc/passwd",
        "/proc/self/environ",
        "../../../../../../../../proc/self/environ",
    ],
)
def test_data_files_outside_the_allowed_folders_are_refused_by_path_only(tmp_path, path):
    out = _sql("SELECT * FROM f", tmp_path, files={"f": path})
    assert out["status"] == "failed" and out["error_type"] == "PermissionError", out
    assert path in out["error_message"] and "outside the allowed folders" in out["error_message"]
    assert "root:" not in out["error_message"] + out["traceback"] and "PATH=" not in out["error_message"]


def test_a_long_query_is_stopped_at_its_time_limit(tmp_path):
    t0 = time.monotonic()
    out = _sql("SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b", tmp_path, timeout_s=1.5)
    elapsed = time.monotonic() - t0
    assert out["status"] == "failed" and out["error_type"] == "TimeoutError", out
    assert "longer than its limit of 1.5 s" in out["error_message"]
    assert elapsed < 10, elapsed


def test_too_many_rows_is_an_error_not_a_silent_cut(tmp_path):
    out = _sql("SELECT range AS i FROM range(20000)", tmp_path, output="rows")
    assert out["status"] == "failed" and "more than 10000 rows" in out["error_message"]


@pytest.mark.parametrize("name", ["wb.duckdb", "wb.duckdb.wal", "wb_log/wal/writer.jsonl", "security.toml"])
def test_the_workbench_store_and_settings_are_not_data_files(tmp_path, name, monkeypatch):
    """Even inside an allowed folder, the store (database, WAL, log) and the security settings stay closed."""
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "wb.duckdb"))
    monkeypatch.setenv("WORKBENCH_SECURITY_FILE", str(tmp_path / "security.toml"))
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("a = 1\n" if name == "security.toml" else "a\n1\n")
    (tmp_path / "plain.csv").write_text("a\n1\n")
    out = _sql("SELECT * FROM f", tmp_path, files={"f": str(target)})
    assert out["status"] == "failed" and out["error_type"] == "PermissionError", out
    assert "the workbench's own store or settings" in out["error_message"]
    assert _sql("SELECT * FROM f", tmp_path, files={"f": str(tmp_path / "plain.csv")})["status"] == "completed"
