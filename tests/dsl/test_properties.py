"""Property tests: the parser never fails with anything but DSLError, never hangs, and the printer round-trips."""

import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.dsl import DSLError, check, parse, to_dsl, to_graph, validate
from engine.dsl.graph import to_dot, to_mermaid
from tests.dsl.strategies import models, spaced_token_soup, token_soup

DEADLINE_S = 2.0  # of this process's CPU time (time.process_time): other work on a loaded machine does not count
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_only_raises_dsl_error(text: str) -> None:
    t0 = time.process_time()
    try:
        model, _report = check(text)
    except DSLError as exc:
        assert exc.issues and all(i.message for i in exc.issues)
        for issue in exc.issues:
            issue.format("f.dsl")  # formatting never fails either
    else:
        to_graph(model)
    assert time.process_time() - t0 < DEADLINE_S


@FAST
@given(st.text(max_size=300))
@example("start->a:" + "(" * 5000)
@example("start->" + "[" * 5000)
@example("\x00")
@example("start->a:x==1e99999;")
@example("start->a:'\\")
def test_random_text_raises_only_dsl_error(text):
    parse_only_raises_dsl_error(text)


@FAST
@given(token_soup)
def test_token_soup_raises_only_dsl_error(text):
    parse_only_raises_dsl_error(text)


@FAST
@given(spaced_token_soup)
def test_spaced_token_soup_raises_only_dsl_error(text):
    parse_only_raises_dsl_error(text)


@FAST
@given(models)
def test_printer_round_trip(model):
    text = to_dsl(model)
    again = parse(text)
    assert again == model
    assert to_dsl(again) == text  # also catches 1 vs True vs 1.0, which compare equal in Python
    assert parse(to_dsl(model, one_per_line=False)) == model


@FAST
@given(models)
def test_validation_and_graph_export_never_crash_on_random_workflows(model):
    report = validate(model, to_dsl(model))
    for issue in (*report.errors, *report.warnings):
        assert issue.code and issue.message
    graph = to_graph(model)
    assert {n["id"] for n in graph["nodes"]} == set(model.states)
    to_mermaid(model)
    to_dot(model)
