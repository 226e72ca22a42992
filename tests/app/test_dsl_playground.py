"""The DSL playground page (AppTest: page logic; agraph itself is covered in the browser)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.components.issues_view import issue_markdown
from engine.dsl.examples import EXTENDED_EXAMPLES, SEED_EXAMPLES
from engine.errors import Issue

APP = Path(__file__).resolve().parents[2] / "app"
PAGE = str(APP / "app_pages" / "dsl_playground.py")


@pytest.fixture
def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_prefilled_with_the_parallel_seed_example(page):
    assert page.selectbox(key="dsl_example").value.startswith("CI/CD pipeline")
    assert "parallel_tests->[run_unit_tests" in page.text_area(key="dsl_text").value
    assert metrics(page) == {"States": "16", "Transitions": "17", "Parallel groups": "1", "Decisions": "3"}
    assert not page.error
    assert any("Valid" in s.value for s in page.success)
    assert len(page.warning) == 4  # conditional states without a default


def test_every_example_can_be_selected(page):
    options = page.selectbox(key="dsl_example").options
    texts = {**SEED_EXAMPLES, **EXTENDED_EXAMPLES}
    assert len(options) == len(texts)
    for name in options:
        page.selectbox(key="dsl_example").select(name).run()
        assert not page.exception and not page.error, name
        assert page.text_area(key="dsl_text").value.strip() in {t.strip() for t in texts.values()}


def test_examples_are_named_by_what_they_do_not_by_document_section(page):
    options = page.selectbox(key="dsl_example").options
    assert not [o for o in options if "§" in o or "Appendix" in o or o.startswith("Extended:")], options
    assert any("Order processing" in o for o in options)


def test_open_in_the_editor_hands_the_dsl_over_as_an_unsaved_draft(page):
    page.text_area(key="dsl_text").input("start->pick;\npick->pack;\npack->end;\n").run()
    page.button[0].click().run()
    assert not page.exception
    assert page.session_state["ed.dsl"] == "start->pick;\npick->pack;\npack->end;\n"
    assert page.session_state["ed.loaded"] == ("__draft__", None)
    assert page.session_state["ed.spec"]["name"] == "Playground draft"


def test_validation_errors_show_line_column_caret_and_hint(page):
    page.text_area(key="dsl_text").input("start->a;\na->b;\na->c;\nb->end;\nc->end;\n").run()
    assert not page.exception
    errors = [e.value for e in page.error]
    two = next(e for e in errors if "unconditional transitions" in e)
    assert two.startswith("**line 3, column 1:**")
    assert "```text\n  a->c;\n  ^\n```" in two
    assert "parallel" in two and "Hint:" in two
    assert metrics(page)["States"] == "5"


def test_syntax_errors_are_shown_without_a_graph(page):
    page.text_area(key="dsl_text").input("start->a:x.__class__==1;\na->end;").run()
    assert not page.exception
    errors = [e.value for e in page.error]
    assert any(e.startswith("**line 1, column 12:**") and "dunder" in e for e in errors)
    assert any("does not parse" in e for e in errors)
    assert metrics(page) == {}
    assert any("graph appears once the DSL parses" in i.value for i in page.info)


def test_hostile_and_huge_input_never_shows_a_traceback(page):
    for text in ["start->a:" + "(" * 10_000, "__import__('os').system('id')", "", "\x00", "start->" * 3000]:
        page.text_area(key="dsl_text").input(text).run()
        assert not page.exception, text[:40]
        assert page.error, text[:40]


def test_issue_markdown_keeps_user_text_literal():
    md = issue_markdown(Issue("error", "x", "state 'my_state' *bad*", 2, 5, "write 'a->[b,c]'", "  ab\n    ^"))
    assert md.startswith("**line 2, column 5:** state 'my\\_state' \\*bad\\*")
    assert "```text\n  ab\n    ^\n```" in md
    assert "Hint: write 'a\\-\\>\\[b,c\\]'" in md
    assert issue_markdown(Issue("error", "x", "no position")).startswith("**workflow:**")
