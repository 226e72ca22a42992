"""Bad and huge user inputs end in clear errors, in time linear in their size, never in a traceback.

Scaling is asserted by counting work, not by timing: the number of Python lines executed inside
``engine/dsl`` (a deterministic count, traced with ``sys.settrace``) must not quadruple when the
input doubles, and the number of listed issues/excerpts must not grow with the input. Timing
targets for 1 MB inputs live in ``benchmarks/bench_dsl.py``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine.dsl
from engine.context_input import ContextInputError, check_context_value, parse_context_text, read_context_argument
from engine.dsl import parser as dsl_parser
from engine.dsl.conditions import evaluate_condition
from engine.dsl.graph import to_graph
from engine.dsl.parser import MAX_ISSUES_PER_CODE, parse
from engine.dsl.printer import to_dsl
from engine.errors import ConditionError, DSLError, WorkbenchError

validate_module = importlib.import_module("engine.dsl.validate")  # the module (engine.dsl.validate is
# also the name of the function re-exported by engine.dsl)

ROOT = Path(__file__).resolve().parents[2]
DSL_DIR = str(Path(engine.dsl.__file__).resolve().parent)


# --- helpers -----------------------------------------------------------------------------------


def lines_executed_in_dsl(fn) -> int:
    """How many Python lines of engine/dsl run while ``fn()`` runs (lark's own code is not counted)."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_trace(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(DSL_DIR) else None

    sys.settrace(global_trace)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count


def parse_validate_render(text: str) -> None:
    """Everything the editor does with a text: parse, validate, graph, print (errors are a result)."""
    clear = getattr(dsl_parser, "_cached_guard", None)
    if clear is not None:
        clear.cache_clear()  # count the work of a first validation
    try:
        model = parse(text, max_transitions=10**6)
    except DSLError:
        return
    validate_module.validate(model, text)
    to_graph(model)
    to_dsl(model)


def wide_duplicates(n: int) -> str:
    return "start->[" + ",".join(["a"] * n) + "]; a->end;"


def wide_dead_ends(n: int) -> str:
    return "start->[" + ",".join(f"s{i}" for i in range(n)) + "];\n"


def wide_matched(n: int) -> str:
    names = ",".join(f"s{i}" for i in range(n))
    return f"start->[{names}];\n[{names}]->end;\n"


def wide_looping_branches(n: int) -> str:
    """Every branch loops back before the fork: each branch reaches the whole workflow."""
    names = [f"b{i}" for i in range(n)]
    return (
        "start->fork;\nfork->["
        + ",".join(names)
        + "];\n"
        + "".join(f"{b}->fork;\n" for b in names)
        + "["
        + ",".join(names)
        + "]->end;\n"
    )


def long_chain(n: int) -> str:
    return "start->s0;\n" + "".join(f"s{i}->s{i + 1};\n" for i in range(n)) + f"s{n}->end;\n"


def many_conditions(n: int) -> str:
    return (
        "start->s0;\n"
        + "".join(
            f"s{i}->s{i + 1}:order.total>{i} and status in ['a','b'] and not (x.y=='z' or 3<=k<7);\ns{i}->end;\n"
            for i in range(n)
        )
        + f"s{n}->end;\n"
    )


def unreachable_states_one_line(n: int) -> str:
    """n unreachable states on one long line (each finding's excerpt is on the same line)."""
    return "start->end; " + " ".join(f"u{i}->end;" for i in range(n))


# --- item 6: validation is linear -----------------------------------------------------------


def test_32000_duplicate_members_are_one_issue_that_says_how_many():
    with pytest.raises(DSLError) as info:
        parse(wide_duplicates(32_000))
    issues = info.value.issues
    assert [i.code for i in issues] == ["duplicate_member"]
    assert "32,000 times" in issues[0].message and issues[0].excerpt


def test_repeated_transitions_are_one_warning_with_a_count():
    text = "start->a;\n" + "a->end;\n" * 5_000
    report = validate_module.validate(parse(text), text)
    dups = [w for w in report.warnings if w.code == "duplicate"]
    assert len(dups) == 1 and "5,000 times" in dups[0].message


def test_60k_dead_ends_list_a_bounded_number_of_issues_and_a_count_of_the_rest():
    text = wide_dead_ends(60_000)
    report = validate_module.validate(parse(text), text)
    dead = [e for e in report.errors if e.code == "dead_end"]
    assert len(dead) == MAX_ISSUES_PER_CODE + 1
    assert all(e.excerpt for e in dead[:-1])
    assert "59,980 more 'dead_end' errors" in dead[-1].message
    assert all(len(e.message) < 500 and len(e.hint) < 500 for e in report.errors + report.warnings)


@pytest.mark.parametrize(
    "shape",
    [
        wide_duplicates,
        wide_dead_ends,
        wide_matched,
        wide_looping_branches,
        long_chain,
        many_conditions,
        unreachable_states_one_line,
    ],
)
def test_doubling_the_input_does_not_quadruple_the_work(shape, monkeypatch):
    # the branch-analysis budget has a fixed floor of steps (exact analysis of small workflows);
    # without it the budget is proportional to the workflow, which is what this test checks
    monkeypatch.setattr(validate_module, "ANALYSIS_BUDGET_FLOOR", 0)
    n = 60 if shape is many_conditions else 400
    small = lines_executed_in_dsl(lambda: parse_validate_render(shape(n)))
    large = lines_executed_in_dsl(lambda: parse_validate_render(shape(2 * n)))
    assert large < 2.6 * small, f"{shape.__name__}: {small:,} lines for n={n}, {large:,} for n={2 * n}"


def test_large_matched_fan_out_is_valid_and_paired():
    text = wide_matched(5_000)
    model = parse(text)
    report = validate_module.validate(model, text)
    assert report.errors == [] and report.warnings == []
    (group,) = validate_module.analyze(model).groups
    assert group.fan_in_index == 1 and len(group.branch_ends) == 5_000


def test_branches_that_all_reach_everything_end_in_a_too_complex_error_not_a_hang():
    text = wide_looping_branches(3_000)  # 3,000 branches x 3,000 states each without the budget
    model = parse(text)
    report = validate_module.validate(model, text)
    assert "too_complex" in [e.code for e in report.errors]
    assert "fork->[b0,b1," in next(e.message for e in report.errors if e.code == "too_complex")


def test_model_dsl_longer_than_the_limit_is_not_validated_or_repaired(llm_server, llm_settings, store):
    from engine.ai import translator
    from engine.ai.translator import MAX_MODEL_DSL, get_ai

    assert MAX_MODEL_DSL <= 20_000
    translator._cache.clear()
    huge = "start->[" + ",".join(["a"] * 12_000) + "]; a->end;"  # 24 KB, like the 53-second answer
    llm_server.reply(json.dumps({"dsl": huge, "explanation": "x", "suggestions": []}))
    tr = get_ai(llm_settings, store).translator.translate("do a lot of a")
    translator._cache.clear()
    assert len(llm_server.chat_requests) == 1  # no repair round for an answer that long
    assert tr.provider == "offline" and tr.valid
    assert any("characters long (the limit is 20,000)" in w for w in tr.warnings)


# --- item 10: user JSON contexts ------------------------------------------------------------

BIG_INT_JSON = '{"amount": 1' + "0" * 5000 + "}"


@pytest.mark.parametrize(
    "text,fragment",
    [
        (BIG_INT_JSON, "integer with too many digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' + "[" * 500 + "]" * 500 + "}", "nested too deeply"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number"),
        ('{"a": "\\ud800"}', "not valid Unicode"),
        ('{"a": 1', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_context_text_is_a_clear_error(text, fragment):
    with pytest.raises(ContextInputError) as info:
        parse_context_text(text)
    assert fragment in str(info.value)
    assert len(str(info.value)) < 300


def test_context_file_that_is_not_utf8_or_missing_is_a_clear_error(tmp_path):
    bad = tmp_path / "ctx.json"
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ContextInputError, match="not UTF-8"):
        read_context_argument(f"@{bad}")
    with pytest.raises(ContextInputError, match="cannot read context file"):
        read_context_argument(f"@{tmp_path / 'missing.json'}")
    good = tmp_path / "ok.json"
    good.write_text('\ufeff{"order_id": 3}')
    assert read_context_argument(f"@{good}") == {"order_id": 3}


def test_cyclic_and_shared_values_in_a_context():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ContextInputError, match="refers to itself"):
        check_context_value({"x": loop})
    shared = [1, 2]
    check_context_value({"a": shared, "b": shared})  # shared, not cyclic: fine


def _cli(args, db: Path):
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT))
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_cli_context_with_a_5000_digit_integer_or_bad_file_prints_a_clear_error(tmp_path):
    wf = tmp_path / "w.dsl"
    wf.write_text("start->a; a->end;")
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}")
    for context, fragment in [(BIG_INT_JSON, "integer with too many digits"), (f"@{deep}", "nested too deeply")]:
        p = _cli(["run", str(wf), "--context", context], tmp_path / "w.duckdb")
        assert p.returncode == 1, p.stderr
        assert "Traceback" not in p.stderr and fragment in p.stderr, p.stderr[-2000:]


def test_app_context_parser_refuses_huge_integers():
    from engine.workbench import common

    with pytest.raises(common.ServiceError, match="integer with too many digits"):
        common.parse_context_json(BIG_INT_JSON)


def test_editor_binding_form_refuses_huge_integers_and_deep_params():
    from engine.workbench import common, drafts

    for raw in ('{"limit": 1' + "0" * 5000 + "}", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        with pytest.raises(common.ServiceError, match="params must be a JSON object of usable values"):
            drafts.binding_from_form({"action": "noop", "params": raw})


def test_engine_start_refuses_a_context_it_could_not_store(inline_engine):
    from engine.workflow_file import spec_from_dsl

    loop: list = []
    loop.append(loop)
    spec = spec_from_dsl("start->a; a->end;")
    for bad, fragment in [({"n": 10**5000}, "too many digits"), ({"x": loop}, "refers to itself")]:
        with pytest.raises(WorkbenchError, match=fragment):
            inline_engine.start(spec, bad)


def huge_int_result(context: dict) -> dict:
    """A state function whose result holds an integer JSON cannot carry (used below)."""
    return {"x": 10**5000}


def test_a_state_result_with_a_huge_integer_fails_the_run_with_a_clear_error(inline_engine):
    from engine.workflow_file import parse_workflow_text

    spec = parse_workflow_text(
        'name = "huge"\ndsl = "start->a; a->b:x>\'a\'; a->end; b->end;"\n'
        '[states.a]\naction = "python"\nfunction = "tests.faults.test_input_faults:huge_int_result"\n'
        'execution = "inline"\n',
        "huge.toml",
        "toml",
    )
    res = inline_engine.run(spec, {})
    assert res.status == "failed"
    assert "internal error" not in res.error and "4300 digits" in res.error


# --- item 10: conditions over hostile values --------------------------------------------------


def _deep(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "condition,context,fragment",
    [
        ("x < 'a'", {"x": 10**5000}, "about 5,000 digits"),
        ("x == y", {"x": _deep(100_000), "y": _deep(100_000)}, "nested too deeply"),
        ("x in y", {"x": _deep(100_000), "y": [_deep(100_000)]}, "nested too deeply"),
    ],
)
def test_condition_over_hostile_values_is_a_condition_error(condition, context, fragment):
    with pytest.raises(ConditionError, match=fragment):
        evaluate_condition(condition, context)


def test_condition_over_cyclic_values_is_a_condition_error():
    a: list = []
    a.append(a)
    b: list = []
    b.append(b)
    with pytest.raises(ConditionError, match="contains itself"):
        evaluate_condition("x == y", {"x": a, "y": b})


# --- item 10: SQL parameters ----------------------------------------------------------------

HOSTILE = ["'; DROP TABLE t; --", "$y", "' OR 1=1 --", "\\'", "$$", "*/ select 1 /*", '"$y"']


@pytest.mark.parametrize("value", HOSTILE)
def test_sql_binds_only_parameters_outside_literals_identifiers_and_comments(value, tmp_path):
    from engine.actions.sql_action import run_sql

    query = (
        "SELECT '$x' AS lit, 'it''s $x' AS lit2, E'\\' $x' AS lit3, $$ $x $$ AS lit4, $t$ $x $t$ AS lit5, "
        '$y AS y, 1 AS "$x" -- $x in a comment\n /* $x /* nested $x */ $x */'
    )
    out = run_sql({"query": query, "output": "row", "into": "r"}, {"y": value}, {"artifacts_dir": str(tmp_path)})
    row = out["r"]
    assert row["y"] == value  # bound as a value, whatever it holds
    assert (row["lit"], row["lit2"], row["lit3"], row["lit4"], row["lit5"]) == ("$x", "it's $x", "' $x", " $x ", " $x ")
    assert row["$x"] == 1


def test_sql_reports_a_query_that_does_not_parse_or_a_missing_parameter(tmp_path):
    from engine.actions.sql_action import run_sql

    with pytest.raises(ValueError, match="does not parse"):
        run_sql({"query": "SELECT '$x"}, {}, {"artifacts_dir": str(tmp_path)})
    with pytest.raises(KeyError, match=r"needs \$region"):
        run_sql({"query": "SELECT $region AS r"}, {}, {"artifacts_dir": str(tmp_path)})


# --- TOML workflow files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "toml,fragment",
    [
        ('name = "x"\ndsl = "start->end;"\n[settings]\nmax_steps = 1' + "0" * 5000 + "\n", "4300 digits"),
        ('name = "x"\ndsl = "start->end;"\nmeta = ' + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_toml_workflow_with_huge_or_deep_values_is_a_clear_error(toml, fragment):
    from engine.workflow_file import WorkflowFileError, parse_workflow_text

    with pytest.raises(WorkflowFileError, match=fragment):
        parse_workflow_text(toml, "w.toml", "toml")


def test_cli_validate_with_an_unreadable_path_prints_a_clear_error(tmp_path):
    p = _cli(["validate", "x" * 5000 + ".dsl"], tmp_path / "w.duckdb")
    assert p.returncode == 1 and "Traceback" not in p.stderr and "cannot read" in p.stderr
