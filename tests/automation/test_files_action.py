"""The ``files`` action: CSV/Parquet/JSON read into the context and written as files, only inside the
allowed data folders, within row and size limits, and errors that name the path but never the content."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.actions import execute_state
from engine.workflow_file import WorkflowFileError, load_workflow, parse_workflow_text

MARKER = "CONFIDENTIAL-ROW-4242"


def _files(binding, context=None, **meta):
    return execute_state(
        {
            "action": "files",
            "binding": {"action": "files", **binding},
            "context": context or {},
            "state": "f",
            **meta,
        }
    )


@pytest.fixture
def data(tmp_path):
    """A folder inside the allowed data folders (tests allow pytest's temp root, WORKBENCH_DATA_DIRS)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_text("id,amount,region\n1,10.5,eu\n2,7,us\n3,,eu\n")
    pq.write_table(pa.table({"id": [1, 2], "day": pa.array([19000, 19001], pa.date32())}), folder / "days.parquet")
    (folder / "config.json").write_text(json.dumps({"threshold": 3, "regions": ["eu"]}))
    return folder


def test_reads_csv_parquet_and_json_into_the_context(data):
    out = _files({"path": str(data / "orders.csv"), "into": "orders"})
    assert out["status"] == "completed", out
    assert out["updates"]["orders"] == [
        {"id": 1, "amount": 10.5, "region": "eu"},
        {"id": 2, "amount": 7.0, "region": "us"},
        {"id": 3, "amount": None, "region": "eu"},
    ]
    out = _files({"path": str(data / "days.parquet")})  # into: the state's name
    assert out["updates"]["f"] == [{"id": 1, "day": "2022-01-08"}, {"id": 2, "day": "2022-01-09"}]
    out = _files({"path": "{folder}/config.json", "into": "cfg"}, {"folder": str(data)})
    assert out["updates"]["cfg"] == {"threshold": 3, "regions": ["eu"]}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_writes_each_format_and_reads_it_back(data, fmt):
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    out = _files(
        {"operation": "write", "path": str(data / "out" / f"report_{{day}}.{fmt}"), "from_key": "rows", "into": "file"},
        {"rows": rows, "day": "2026-12-02"},
    )
    assert out["status"] == "completed", out
    written = out["updates"]["file"]
    assert written["path"] == str(data / "out" / f"report_2026-12-02.{fmt}") and written["rows"] == 2
    assert written["bytes"] == os.path.getsize(written["path"]) and written["format"] == fmt
    assert _files({"path": written["path"], "into": "back"})["updates"]["back"] == rows
    assert not [p for p in (data / "out").iterdir() if p.name.startswith(".")]  # no temp file left


def test_traversal_and_outside_paths_are_refused_naming_the_path_only(data, tmp_path):
    # pytest's temp root is an allowed data folder: make a folder outside every one of them (beside
    # that root, whatever depth tmp_path has under it: pytest-N/test-dir, or pytest-N/popen-gwK/test-dir)
    allowed = [Path(p).resolve() for p in os.environ["WORKBENCH_DATA_DIRS"].split(os.pathsep) if p]
    outside_dir = Path(tempfile.mkdtemp(prefix="wb-files-outside-", dir=tempfile.gettempdir()))
    assert not any(outside_dir.resolve().is_relative_to(a) for a in allowed), (outside_dir, allowed)
    try:
        outside = outside_dir / "private.csv"
        outside.write_text(f"a\n{MARKER}\n")
        (data / "link.csv").symlink_to(outside)
        refs = [
            "/etc/passwd",
            str(outside),
            str(data / os.path.relpath(outside, data)),  # data/../../…/wb-files-outside-…/private.csv
            str(data / "link.csv"),  # a symlink inside pointing outside
        ]
        for ref in refs:
            out = _files({"path": ref, "format": "csv"})
            assert out["status"] == "failed" and out["error_type"] == "PermissionError", (ref, out)
            assert ref in out["error_message"] and MARKER not in json.dumps(out)
        out = _files({"path": "{p}", "format": "csv"}, {"p": "../../../../etc/passwd"})  # from the context
        assert out["status"] == "failed" and "outside the allowed folders" in out["error_message"]
        for ref in (str(outside_dir / "new.csv"), "../../etc/cron.d/x.csv", str(data / "link.csv")):
            out = _files({"operation": "write", "path": ref, "from_key": "rows"}, {"rows": [{"a": 1}]})
            assert out["status"] == "failed" and out["error_type"] == "PermissionError", (ref, out)
        assert outside.read_text() == f"a\n{MARKER}\n"  # the symlink target was not overwritten
        out = _files(
            {"operation": "write", "path": str(data / "evil.py"), "from_key": "rows", "format": "json"}, {"rows": []}
        )
        assert out["status"] == "failed" and "only .csv, .parquet and .json" in out["error_message"]
        assert not (data / "evil.py").exists()
    finally:
        for p in outside_dir.iterdir():
            p.unlink()
        outside_dir.rmdir()


def test_row_and_size_limits_refuse_rather_than_cut(data, tmp_path, monkeypatch):
    out = _files({"path": str(data / "orders.csv"), "max_rows": 2})
    assert out["status"] == "failed" and "3 rows, over the limit of 2" in out["error_message"]
    out = _files({"operation": "write", "path": str(data / "w.csv"), "from_key": "r", "max_rows": 1}, {"r": [{}, {}]})
    assert out["status"] == "failed" and "over the limit of 1" in out["error_message"]
    settings = tmp_path / "security.toml"
    settings.write_text("files_max_bytes = 20\n")
    monkeypatch.setenv("WORKBENCH_SECURITY_FILE", str(settings))
    out = _files({"path": str(data / "orders.csv")})
    assert out["status"] == "failed" and "over the limit of 20 (files_max_bytes)" in out["error_message"]


def test_unreadable_file_error_never_quotes_its_content(data):
    (data / "bad.csv").write_text(f"a,b\n1,2\n{MARKER},3,4,5\n")
    (data / "bad.json").write_text('{"x": "' + MARKER + '", oops}')
    for name in ("bad.csv", "bad.json"):
        out = _files({"path": str(data / name)})
        assert out["status"] == "failed" and "cannot be read as" in out["error_message"]
        assert MARKER not in json.dumps(out)


def test_bindings_are_checked_when_the_file_is_read():
    base = 'name = "x"\ndsl = "start->a; a->end;"\n[states.a]\naction = "files"\n'
    with pytest.raises(WorkflowFileError, match="needs 'path'"):
        parse_workflow_text(base)
    with pytest.raises(WorkflowFileError, match="needs 'from_key'"):
        parse_workflow_text(base + 'operation = "write"\npath = "out.csv"\n')
    with pytest.raises(WorkflowFileError, match="format"):
        parse_workflow_text(base + 'path = "x.csv"\nformat = "xlsx"\n')


def test_a_run_reads_transforms_and_writes(data, inline_engine):
    wf = data / "flow.toml"
    wf.write_text(
        """
name = "File drop to report"
dsl = "start->load; load->summarize; summarize->save; save->end;"
[states.load]
action = "files"
path = "orders.csv"
into = "orders"
[states.summarize]
action = "sql"
query = "SELECT region, count(*) AS n FROM orders GROUP BY region ORDER BY region"
files = { orders = "orders.csv" }
into = "summary"
[states.save]
action = "files"
operation = "write"
path = "{out_dir}/summary.json"
from_key = "summary"
into = "report"
"""
    )
    eid = inline_engine.start(load_workflow(wf), {"out_dir": str(data / "reports")})
    res = inline_engine.wait(eid, timeout=60)
    assert res.status == "completed", res
    ctx = res.final_context
    assert len(ctx["orders"]) == 3 and ctx["report"]["rows"] == 2
    assert json.loads((data / "reports" / "summary.json").read_text()) == [
        {"region": "eu", "n": 2},
        {"region": "us", "n": 1},
    ]
