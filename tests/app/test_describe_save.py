"""Describe → Save (issue 15): a template keeps its [settings] and its tags; the Description (and tags)
of one saved workflow never carry over into the next one."""

from __future__ import annotations

from engine.workbench import library as wb_library
from tests.app.conftest import texts

SALES = (
    "Load the weekly sales. Then, in parallel, compute the totals for the north, south, east and west "
    "regions. After that, combine them into a report."
)
LOAN = "Receive the loan application and check the credit score. Then notify the applicant."


def _button(at, label, key=None):
    return next(b for b in at.button if b.label == label and (key is None or b.key == key))


def _template_key(at, name: str) -> str:
    """The key of the 'Use this template' button of the card titled ``name``."""
    from engine.workbench import drafts

    key = next(t["key"] for t in drafts.templates() if t["name"] == name)
    return f"btn.desc.tpl.{key}"


def test_saving_a_template_keeps_its_settings_and_tags(page_test, app_engine):
    at = page_test("describe")
    at.run()
    _button(at, "Use this template", _template_key(at, "Order processing")).click()
    at.run()
    at.text_input(key="desc.name").input("My orders")
    _button(at, "Save workflow").click()
    at.run()
    assert not at.exception and "Saved **My orders** as version 1" in texts(at)
    saved = at.session_state["desc.saved"]
    spec, meta = wb_library.get_workflow(app_engine.store, saved["workflow_id"])
    assert spec.settings.max_steps == 100
    assert "sales" in meta["tags"]
    assert spec.states["validate_order"].action == "python"


def test_description_and_tags_do_not_carry_over_to_the_next_workflow(page_test, app_engine):
    at = page_test("describe")
    at.run()
    at.text_area(key="desc.text").input(SALES)
    at.run()
    _button(at, "Translate").click()
    at.run()
    at.text_input(key="desc.name").input("Weekly sales")
    at.text_input(key="desc.tags").input("sales")
    at.text_area(key="desc.description").input("Totals per region, every Monday")
    _button(at, "Save workflow").click()
    at.run()
    assert "Saved **Weekly sales** as version 1" in texts(at)

    at.text_area(key="desc.text").input(LOAN)
    at.run()
    _button(at, "Translate").click()
    at.run()
    assert at.text_area(key="desc.description").value in ("", None)
    assert at.text_input(key="desc.tags").value in ("", None)
    assert "Saved **" not in texts(at)  # the previous save's banner is gone with the new draft
    at.text_input(key="desc.name").input("Loan")
    _button(at, "Save workflow").click()
    at.run()
    rows = {r["name"]: r for r in wb_library.list_workflows(app_engine.store)}
    assert rows["Loan"]["description"] in ("", None) and rows["Loan"]["tags"] == []
    assert rows["Weekly sales"]["description"] == "Totals per region, every Monday"


def test_workflows_diff_header_names_the_workflow_and_marks_the_default(page_test, app_engine):
    from pathlib import Path

    from engine import library
    from engine.workflow_file import load_workflow

    store = app_engine.store
    spec = load_workflow(Path(__file__).resolve().parents[2] / "data" / "templates" / "order_processing.toml")
    wid, _ = wb_library.save_workflow(store, spec)
    library.ensure_saved(store, spec.model_copy(update={"description": "from a file"}))  # pinned v2
    at = page_test("workflows")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "--- Order processing v2" in diff or "--- Order processing v1" in diff
    assert wid not in diff
    table = at.dataframe[1].value
    assert list(table["default"]) == ["", "✓ default"] and table.loc[0, "status"] == "pinned (ran from a file)"


def test_a_description_over_the_limit_says_its_length_and_how_to_split_it(page_test, app_engine):
    from engine.ai.translator import MAX_DESCRIPTION_CHARS

    long_text = (LOAN + " ") * (MAX_DESCRIPTION_CHARS // len(LOAN) + 1)
    at = page_test("describe")
    at.run()
    at.text_area(key="desc.text").input(long_text)
    at.run()
    _button(at, "Translate").click()
    at.run()
    shown = " ".join(e.value for e in at.error)
    assert not at.exception and f"the description is {len(long_text):,} characters" in shown, shown
    assert "sub-workflows" in shown and "desc.result" not in at.session_state
    assert at.text_area(key="desc.text").value == long_text  # what was typed is kept, to shorten or split
