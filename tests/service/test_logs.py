"""The service's log configuration (in process: no server needed)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from engine.service import logs


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("workbench").level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("workbench").setLevel(saved[2])


def _capture(monkeypatch, fmt: str, env_level: str | None):
    buf = io.StringIO()
    monkeypatch.setattr("sys.stderr", buf)
    if env_level is None:
        monkeypatch.delenv("WORKBENCH_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("WORKBENCH_LOG_LEVEL", env_level)
    from engine.logging_setup import configure_logging

    configure_logging("WARNING")  # what `workbench` does before any command runs
    logs.configure(fmt)
    return buf


def test_json_lines_carry_execution_workflow_and_state_at_info_by_default(monkeypatch, restore_logging):
    buf = _capture(monkeypatch, "json", None)
    logging.getLogger("workbench.run").info("completed a", extra={"execution_id": "e1", "workflow": "W", "state": "a"})
    logging.getLogger("uvicorn.error").info("Uvicorn running")
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[0]["message"] == "completed a" and lines[0]["level"] == "info"
    assert (lines[0]["execution_id"], lines[0]["workflow"], lines[0]["state"]) == ("e1", "W", "a")
    assert lines[1]["logger"] == "uvicorn.error"
    assert len(lines) == 2  # one handler: nothing printed twice


def test_level_from_env_and_text_format(monkeypatch, restore_logging):
    buf = _capture(monkeypatch, "text", "WARNING")
    logging.getLogger("workbench.run").info("hidden")
    logging.getLogger("workbench.run").warning("shown", extra={"execution_id": "e2"})
    out = buf.getvalue()
    assert "hidden" not in out and "shown" in out and "execution_id=e2" in out
    assert not out.lstrip().startswith("{")
    with pytest.raises(ValueError):
        logs.configure("xml")
