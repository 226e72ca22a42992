"""The parser's fast path (transition structure scanned without lark) agrees with lark on every input.

It either returns exactly what lark's parse gives (same model, same positions) or steps aside
(``_NotFast``) so that lark parses the text and reports any error itself.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from engine.dsl import parser as P
from engine.dsl.printer import to_dsl
from tests.dsl.strategies import models, spaced_token_soup, token_soup

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_fast_path_agrees_with_lark(text: str) -> None:
    try:
        slow = P._parser().parse(text)
    except (UnexpectedInput, P._Refused):
        slow = None
    try:
        fast = P._fast_statements(text)
    except P._NotFast:
        return  # lark decides (and reports the error, if any)
    assert slow is not None, f"fast path accepted text lark refuses: {text!r}"
    assert [s.pos for s in fast] == [s.pos for s in slow]
    try:
        slow_model = P._build_model(text, slow)
    except P.DSLError as exc:
        slow_error = [(i.code, i.message, i.line, i.column) for i in exc.issues]
        try:
            P._build_model(text, fast)
        except P.DSLError as exc2:
            assert [(i.code, i.message, i.line, i.column) for i in exc2.issues] == slow_error
            return
        raise AssertionError(f"fast path built a model lark's statements refuse: {text!r}") from None
    fast_model = P._build_model(text, fast)
    assert fast_model == slow_model and fast_model.state_positions == slow_model.state_positions


def reference_parse(text: str):
    """What a full lark parse gives: the statements, or the issue of its error."""
    try:
        return P._parser().parse(text)
    except P._Refused as exc:
        return P._issue(text, exc.code, exc.message, exc.line, exc.column, exc.hint)
    except UnexpectedInput as exc:
        return P._syntax_issue(text, exc)


def assert_parse_agrees_with_full_lark(text: str) -> None:
    """The parser (fast path, then lark from the last ';' it read) gives what lark gives on the whole text."""
    expected = reference_parse(text)
    try:
        got = P._run_parser(text)
    except P.DSLError as exc:
        assert exc.issues == [expected], text
        return
    assert isinstance(expected, list), f"parsed text lark refuses: {text!r}"
    assert [s.pos for s in got] == [s.pos for s in expected]
    outcomes = []
    for stmts in (got, expected):
        try:
            model = P._build_model(text, stmts)
            outcomes.append((model, model.state_positions))
        except P.DSLError as exc:
            outcomes.append(exc.issues)
    assert outcomes[0] == outcomes[1]


@FAST
@given(token_soup)
def test_token_soup(text):
    assert_fast_path_agrees_with_lark(text)
    assert_parse_agrees_with_full_lark(text)


@FAST
@given(models, token_soup, st.sampled_from(["", "\n", ";", " "]))
def test_valid_prefix_then_anything(model, soup, glue):
    assert_parse_agrees_with_full_lark(to_dsl(model) + glue + soup)
    assert_parse_agrees_with_full_lark(to_dsl(model, one_per_line=False) + glue + soup)


def test_an_error_after_many_valid_statements_is_the_one_lark_reports_on_the_whole_text():
    prefix = "start->[" + ",".join(["a"] * 100_000) + "];a->end;"
    text = prefix + "\nb->c d;"
    with pytest.raises(P.DSLError) as info:
        P.parse(text, max_bytes=2_000_000)
    issue = info.value.issues[0]
    assert (issue.line, issue.column) == (2, 6) and "forget ';'" in issue.hint
    assert issue == reference_parse(text)


@FAST
@given(spaced_token_soup)
def test_spaced_token_soup(text):
    assert_fast_path_agrees_with_lark(text)
    assert_parse_agrees_with_full_lark(text)


@FAST
@given(models, st.sampled_from(["\n", " ", "\n# a comment; with ';'\n", "\r\n\t", ";\n;"]))
def test_printed_workflows_with_comments_and_spacing(model, separator):
    text = separator.join(P_line for P_line in to_dsl(model).splitlines())
    assert_fast_path_agrees_with_lark(text)
    assert_fast_path_agrees_with_lark(text.replace("->", " -> ").replace(",", " ,\n "))


def test_fast_path_is_taken_for_plain_workflows_and_big_groups():
    names = ",".join(["a"] * 1000)
    stmts = P._fast_statements(f"start->[{names}];\na->end:x>1 and y=='a;b'; # done\n")
    assert len(stmts) == 2 and len(stmts[0].dst.names) == 1000 and stmts[1].cond.text == "x>1 and y=='a;b'"
    assert (stmts[1].pos.line, stmts[1].pos.column) == (2, 1)


def test_unchanged_guards_are_not_parsed_again_when_the_editor_revalidates():
    P._cached_guard.cache_clear()
    text = "start->a:order.total>100 and tier in ['gold','silver'];\nstart->b;\na->end;\nb->end;\n"
    first = P.parse(text)
    misses = P._cached_guard.cache_info().misses
    again = P.parse(text.replace("b->end;", "b->end; # edited"))
    assert P._cached_guard.cache_info().misses == misses  # the guard came from the cache
    assert again == first and again.transitions[0].condition is first.transitions[0].condition
    # a guard that fails is not cached: the error is reported every time, by lark, with its position
    for _ in range(2):
        try:
            P.parse("start->a:x>;\na->end;")
        except P.DSLError as exc:
            assert (exc.issues[0].line, exc.issues[0].column) == (1, 12)
        else:
            raise AssertionError("expected a DSLError")
