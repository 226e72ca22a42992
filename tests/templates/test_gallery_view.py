"""The gallery on the Describe page: a preview graph per card (SVG), search, and "Use this template"
saving a template to the library with its [settings], tags, [inputs] and [[schedules]]."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from app.components.gallery_view import preview_svg, template_badges
from engine.workbench import drafts
from engine.workbench import library as wb_library
from engine.workflow_file import load_workflow
from tests.app.conftest import texts

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"
SVG = "{http://www.w3.org/2000/svg}"


def _nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("data-state"): g for g in root.iter(f"{SVG}g")}


def test_preview_draws_every_state_with_parallel_branches_side_by_side_and_approvals_marked():
    spec = load_workflow(TEMPLATES / "cicd_pipeline.toml")
    graph = drafts.check_dsl(spec.dsl).graph
    svg = preview_svg(graph, {k: b.action for k, b in spec.states.items()})
    nodes = _nodes(svg)  # well-formed XML
    assert set(nodes) == set(spec.model.states)
    ys = {s: nodes[s].find(f"{SVG}rect").get("y") for s in nodes}
    xs = {s: float(nodes[s].find(f"{SVG}rect").get("x")) for s in nodes}
    branches = ["run_unit_tests", "run_integration_tests", "run_security_scan"]
    assert len({ys[b] for b in branches}) == 1 and len({xs[b] for b in branches}) == 3
    assert float(ys["start"]) < float(ys["code_quality_check"]) < float(ys["run_unit_tests"]) < float(ys["end"])
    assert nodes["wait_approval"].find(f"{SVG}rect").get("fill") == "#fef3c7"
    assert nodes["build_image"].find(f"{SVG}rect").get("fill") == "#eef2ff"
    assert 'stroke-dasharray="4 3"' in svg  # conditional arrows are dashed


def test_preview_survives_loops_and_escapes_labels():
    graph = drafts.check_dsl("start->a;a->b;b->a:retry==True;b->end;").graph
    graph["nodes"][1]["label"] = "<script>x</script>"
    svg = preview_svg(graph)
    assert "<script>" not in svg and len(_nodes(svg)) == 4


def test_badges_say_how_a_template_starts_and_what_it_uses():
    kpi = load_workflow(TEMPLATES / "daily_kpi_report.toml")
    assert template_badges(kpi, drafts.check_dsl(kpi.dsl).graph) == [
        ":material/schedule: 0 7 * * 1-5 UTC",
        ":material/call_split: parallel",
        ":material/replay: recovery",
    ]
    llm = load_workflow(TEMPLATES / "support_triage_llm.toml")
    assert ":material/auto_awesome: LLM" in template_badges(llm, drafts.check_dsl(llm.dsl).graph)
    hook = load_workflow(TEMPLATES / "webhook_ticket_triage.toml")
    assert template_badges(hook)[0] == ":material/webhook: webhook"


def _use_buttons(at):
    return [b for b in at.button if b.label == "Use this template"]


def test_describe_page_shows_a_card_per_template_and_search_narrows_them(page_test, app_engine):
    at = page_test("describe")
    at.run()
    assert not at.exception
    n = len(drafts.templates())
    assert n >= 12 and len(_use_buttons(at)) == n
    assert f"{n} of {n} templates" in texts(at)
    assert sum("<svg" in str(m.value) for m in at.markdown) == n
    at.text_input(key="desc.gallery.q").input("approval").run()
    names = [t["name"] for t in drafts.templates() if "approval" in t["tags"]]
    shown = _use_buttons(at)
    assert len(shown) == len(names) >= 4 and len(shown) < n
    # the keys name the template's file, not a position that shifts when the list changes
    assert {b.key for b in shown} == {f"btn.desc.tpl.{t['key']}" for t in drafts.templates() if "approval" in t["tags"]}


def test_using_a_template_saves_it_with_its_inputs_schedule_settings_and_tags(page_test, app_engine):
    at = page_test("describe")
    at.run()
    next(b for b in _use_buttons(at) if b.key == "btn.desc.tpl.daily_kpi_report").click().run()
    assert at.text_input(key="desc.name").value == "Daily KPI report"
    next(b for b in at.button if b.label == "Save workflow").click().run()
    assert not at.exception and "Saved **Daily KPI report** as version 1" in texts(at)
    spec, meta = wb_library.get_workflow(app_engine.store, at.session_state["desc.saved"]["workflow_id"])
    assert set(spec.inputs) == {"since", "output_dir"} and spec.inputs["since"].type == "date"
    assert [s.cron for s in spec.schedules] == ["0 7 * * 1-5"]
    assert "reporting" in meta["tags"] and spec.states["write_report"].action == "files"
    assert spec.description.startswith("Every weekday at 07:00")


def test_each_workflow_is_shown_once_bound_and_the_gallery_and_cli_list_agree(page_test, app_engine, capsys):
    from engine.cli import main

    assert main(["templates", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    # a bare seed_<id>.dsl next to its bound <id>.toml is the same workflow: only the runnable one is listed
    assert len({i.removeprefix("seed_") for i in ids}) == len(ids), ids
    for dsl in TEMPLATES.glob("seed_*.dsl"):
        if (TEMPLATES / f"{dsl.stem.removeprefix('seed_')}.toml").exists():
            assert dsl.stem not in ids
    assert all(r["bound"] for r in rows if (TEMPLATES / f"{r['id'].removeprefix('seed_')}.toml").exists())
    at = page_test("describe")
    at.run()
    assert not at.exception
    assert len(_use_buttons(at)) == len(rows) and f"{len(rows)} of {len(rows)} templates" in texts(at)
    card_names = [m.value.strip("*") for m in at.markdown if str(m.value).startswith("**")]
    assert sorted(card_names) == sorted(r["name"] for r in rows)
