"""``workbench templates``: the gallery headless — list, show, and use (save to the library)."""

from __future__ import annotations

import json

from engine.cli import main
from engine.workbench import library as wb_library


def test_templates_list_shows_every_template_with_its_inputs(capsys):
    assert main(["templates", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    bound = {r["id"]: r for r in rows if r["bound"]}
    assert len(bound) >= 12
    assert bound["invoice_approval"]["inputs"]["invoice_id"]["type"] == "string"
    assert bound["daily_kpi_report"]["schedules"][0]["cron"] == "0 7 * * 1-5"
    assert set(bound["webhook_ticket_triage"]["triggers"]) == {"webhook"}
    assert main(["templates"]) == 0
    assert "file_drop_quality" in capsys.readouterr().out


def test_templates_use_saves_it_to_the_library_with_inputs_and_settings(store, capsys):
    assert main(["templates", "use", "Invoice approval", "--name", "AP invoices"]) == 0
    saved = json.loads(capsys.readouterr().out)
    spec, meta = wb_library.get_workflow(store, saved["workflow_id"])
    assert spec.name == "AP invoices" and saved["version"] == 1
    assert set(spec.inputs) == {"invoice_id", "auto_approve_limit"} and spec.settings.deadline_s == 259200
    assert "finance" in meta["tags"] and spec.states["manager_approval"].action == "approval"


def test_templates_use_names_the_templates_when_one_is_unknown(store, capsys):
    assert main(["templates", "use", "no_such_template"]) == 1
    err = capsys.readouterr().err
    assert "no template 'no_such_template'" in err and "invoice_approval" in err
