"""``workbench schedule`` and ``workbench trigger`` (the CLI's own entry point) on a real store."""

from __future__ import annotations

import json

import pytest

from engine import library
from engine.workflow_file import parse_workflow_text
from tests.automation.conftest import NOOP_TOML


def _save(store, name: str, extra: str) -> str:
    return library.save_workflow(store, parse_workflow_text(NOOP_TOML.format(name=name, extra=extra)))[0]


class _Out:
    def __init__(self, code: int, out: str, err: str):
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def cli(store, capsys, monkeypatch):
    """``cli(*args)`` runs ``workbench *args`` (engine.cli.main) on the test's store."""
    from engine.cli import main

    monkeypatch.setenv("WORKBENCH_SERVER", "local")

    def run(*args: str) -> _Out:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        got = capsys.readouterr()
        return _Out(code, got.out, got.err)

    return run


def _json(cli, *args: str):
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_schedule_add_list_pause_resume_remove(cli, store):
    wid = _save(store, "cli sched", '[[schedules]]\nid = "file"\nevery = "1h"\n')
    out = cli(
        "schedule",
        "add",
        "cli sched",
        "--cron",
        "0 7 * * 1-5",
        "--timezone",
        "Europe/Paris",
        "--id",
        "morning",
        "--overlap",
        "skip",
        "--context",
        '{"region": "EU"}',
        "--json",
    )
    assert out.returncode == 0, out.stderr
    added = json.loads(out.stdout)[0]
    assert added["schedule_id"] == f"{wid}:morning" and added["definition"]["context"] == {"region": "EU"}
    assert added["definition"]["overlap"] == "skip"
    assert "every 1h" in cli("schedule", "list").stdout  # the file's schedule is registered too
    assert _json(cli, "schedule", "pause", f"{wid}:morning", "--json")[0]["enabled"] is False
    assert _json(cli, "schedule", "resume", f"{wid}:morning", "--json")[0]["enabled"] is True
    refused = cli("schedule", "remove", f"{wid}:file")
    assert refused.returncode == 1 and "workflow file" in refused.stderr
    assert cli("schedule", "remove", f"{wid}:morning").returncode == 0
    assert {r["schedule_id"] for r in _json(cli, "schedule", "list", "--json")} == {f"{wid}:file"}
    bad = cli("schedule", "add", "cli sched", "--every", "whenever")
    assert bad.returncode == 1 and "not a duration" in bad.stderr


def test_trigger_add_webhook_prints_the_token_once_and_stores_its_hash(cli, store, tmp_path):
    wid = _save(store, "cli trig", "")
    out = cli("trigger", "add-webhook", wid, "--id", "tickets")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("wbh_") and f"/api/v1/hooks/{wid}/tickets" in out.stderr
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert cli("trigger", "add-file", wid, "--id", "drop", "--folder", str(inbox), "--glob", "*.csv").returncode == 0
    outside = cli("trigger", "add-file", wid, "--id", "etc", "--folder", "/etc")
    assert outside.returncode == 1 and "outside the allowed data folders" in outside.stderr
    assert cli("trigger", "pause", f"{wid}:drop").returncode == 0
    assert cli("trigger", "remove", f"{wid}:tickets").returncode == 0
    listed = cli("trigger", "list", "--json")
    assert listed.returncode == 0 and token not in listed.stdout, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["trigger_id"], r["enabled"]) for r in rows] == [(f"{wid}:drop", False)]
