"""Parser: accepted syntax, syntax errors with line:column, refused constructs and limits."""

import time

import pytest

from engine.dsl import DSLError, parse, parse_condition
from engine.dsl.model import BoolOp, Compare, Condition, ListLit, Literal_, Name, Not


def error_of(text: str, **kw) -> DSLError:
    with pytest.raises(DSLError) as info:
        parse(text, **kw)
    return info.value


# --- accepted syntax ---------------------------------------------------------------------


def test_statements_comments_and_free_whitespace():
    m = parse("""
        # a comment on its own line
        start -> a ;   # trailing comment
        a->[ b , c ];[b,c]->
           j ; j->end
    """)
    assert [(t.sources, t.targets) for t in m.transitions] == [
        (("start",), ("a",)),
        (("a",), ("b", "c")),
        (("b", "c"), ("j",)),
        (("j",), ("end",)),
    ]
    assert m.states == ("start", "a", "b", "c", "j", "end")
    assert m.transitions[1].is_fan_out and m.transitions[2].is_fan_in


def test_empty_statements_are_ignored():
    assert len(parse(";;start->end;;;").transitions) == 1


def test_condition_forms():
    m = parse(
        "start->a:order.total > 100 and not (status in ['x', \"y\"] or flag);"
        "a->b:x not in [1, -2.5, 3e3, True, None];"
        'b->c:"the customer sounds angry";'
        "c->end:@error; c->end;"
    )
    c0 = m.transitions[0].condition
    assert c0.kind == "expr"
    assert c0.expr == BoolOp(
        "and",
        (
            Compare(Name(("order", "total")), (">",), (Literal_(100),)),
            Not(
                BoolOp(
                    "or",
                    (Compare(Name(("status",)), ("in",), (ListLit((Literal_("x"), Literal_("y"))),)), Name(("flag",))),
                )
            ),
        ),
    )
    assert c0.variables == ("order.total", "status", "flag")
    c1 = m.transitions[1].condition
    assert c1.expr.ops == ("not in",)
    assert [i.value for i in c1.expr.rights[0].items] == [1, -2.5, 3000.0, True, None]
    assert m.transitions[2].condition == Condition("natural", "the customer sounds angry")
    assert m.transitions[3].condition.kind == "error" and m.transitions[3].is_error
    assert m.transitions[4].condition is None


def test_chained_comparison_is_one_node():
    cond = parse_condition("600 <= score < 700")
    assert cond.expr == Compare(Literal_(600), ("<=", "<"), (Name(("score",)), Literal_(700)))
    assert cond.text == "600<=score<700"


def test_single_quoted_string_alone_is_an_expression_not_natural_language():
    assert parse_condition("'yes'").kind == "expr"
    assert parse_condition('"yes please"').kind == "natural"
    assert parse_condition('("yes")').kind == "expr"


def test_string_escapes():
    cond = parse_condition(r"x == 'it\'s \"q\" \\ done\n'")
    assert cond.expr.rights[0].value == 'it\'s "q" \\ done\n'


def test_keywords_inside_names_are_names():
    m = parse("start->index; index->notify:order_status==1 and android; notify->end; index->end;")
    assert "index" in m.states
    assert m.transitions[1].condition.variables == ("order_status", "android")


def test_transition_positions_are_one_based():
    m = parse("start->a;\n  a->end;")
    assert (m.transitions[1].position.line, m.transitions[1].position.column) == (2, 3)
    assert m.state_positions["end"].line == 2 and m.state_positions["end"].column == 6


# --- syntax errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,line,col,fragment",
    [
        ("start->", 1, 8, "unexpected end of input"),
        ("start->a:x==", 1, 13, "unexpected end of input"),
        ("start->a\nb->end;", 2, 1, "unexpected name 'b'"),
        ("start->a->b;", 1, 9, "unexpected '->'"),
        ("start->a:x=1;", 1, 11, "'=' is not a comparison"),
        ("start->a:x && y;", 1, 12, "'&' is not an operator"),
        ("start->a:x ! y;", 1, 12, "'!' is not an operator"),
        ("start->a:{'k': 1};", 1, 10, "braces"),
        ("start->a:x=='abc;", 1, 13, "unterminated string"),
        ("start->café;", 1, 11, "unexpected character"),
        ("start->a:x is None;", 1, 12, "'is' is not part of the DSL"),
        ("start->a:x>1:y>2;", 1, 13, "unexpected ':'"),
    ],
)
def test_syntax_errors_have_line_column_excerpt_and_message(text, line, col, fragment):
    err = error_of(text)
    issue = err.issues[0]
    assert (issue.line, issue.column) == (line, col), issue.format()
    assert fragment in issue.message, issue.message
    assert issue.code == "syntax"
    assert issue.excerpt.endswith("^")
    # the caret sits under the reported column
    src_line, caret_line = issue.excerpt.split("\n")
    assert caret_line.index("^") == col - 1 + 2


def test_missing_semicolon_hint():
    assert "did you forget ';'" in error_of("start->a\nb->end;").issues[0].hint


@pytest.mark.parametrize("name", ["True", "False", "None", "in", "not", "and", "or"])
def test_keywords_cannot_be_state_names(name):
    issue = error_of(f"start->{name};\n{name}->end;").issues[0]
    assert issue.code == "reserved" and "keyword" in issue.message and (issue.line, issue.column) == (1, 8)


def test_expected_tokens_are_named_readably():
    issue = error_of("start->").issues[0]
    assert "expected '[', a name" in issue.message
    assert issue.hint


def test_syntax_error_with_tabs_keeps_the_caret_aligned():
    issue = error_of("start->a:\tx ! y;").issues[0]
    src_line, caret_line = issue.excerpt.split("\n")
    assert src_line[caret_line.index("^")] == "!"


# --- refused constructs (security) -------------------------------------------------------

REFUSED = [
    # (condition, fragment of the message)
    ("__import__('os').system('rm -rf /')", "function calls"),
    ("os.system('ls')", "function calls"),
    ("open('/etc/passwd') == 1", "function calls"),
    ("getattr(x, 'y')", "function calls"),
    ("eval('1')", "function calls"),
    ("exec('1')", "function calls"),
    ("x.__class__ == 1", "dunder"),
    ("__builtins__ == 1", "dunder"),
    ("x.__class__.__bases__", "dunder"),
    ("lambda: 1", "lambda"),
    ("(lambda x: x) == 1", "lambda"),
    ("[x for x in y]", "list literals hold constants only"),
    ("x in [y for y in z]", "list literals hold constants only"),
    ("x[0] == 1", "subscripts"),
    ("'abc'[0] == 'a'", "subscripts"),
    ("x ** 2 > 1", "operator '*'"),
    ("x * 2 > 1", "operator '*'"),
    ("'a' * 1000000 == x", "operator '*'"),
    ("x + 1 > 2", "operator '+'"),
    ("x - 1 > 2", "operator '-'"),
    ("x / 2 > 1", "operator '/'"),
    ("x % 2 == 1", "operator '%'"),
    ("f'{x}' == 'a'", "prefixed strings"),
    ("rb'x' == x", "prefixed strings"),
    ("import os", "'import' is not part of the DSL"),
    ("x if y else z", "'if' is not part of the DSL"),
    ("(x := 1)", "unexpected ':'"),
    ("x == 1; import os", "'import' is not part of the DSL"),
    ("{1, 2}", "braces"),
    ("x @ y", "'@' is only allowed in '@error'"),
    ("`x`", "backquotes"),
    ("().__class__", "unexpected"),
    ("x.y.__globals__", "dunder"),
]


@pytest.mark.parametrize("cond,fragment", REFUSED)
def test_refused_constructs_are_parse_errors_with_a_position(cond, fragment):
    text = f"start->evil:{cond};\nevil->end;"
    err = error_of(text)
    issue = err.issues[0]
    assert fragment in issue.message, issue.format()
    assert issue.line == 1 and issue.column is not None and issue.column >= 12
    assert issue.excerpt


def test_seed_security_example_is_refused():
    # seed §11.5: malicious_dsl = "start->evil:__import__('os').system('rm -rf /')"
    err = error_of("start->evil:__import__('os').system('rm -rf /')")
    assert "function calls" in err.issues[0].message


def test_dunder_state_names_are_refused():
    err = error_of("start->__init__; __init__->end;")
    assert err.issues[0].code == "refused" and "dunder" in err.issues[0].message


def test_in_needs_a_collection_on_the_right():
    issue = error_of("start->a:x in 5; a->end;").issues[0]
    assert "needs a list" in issue.message and (issue.line, issue.column) == (1, 15)


def test_float_overflow_and_long_integers_are_refused():
    assert "out of range" in error_of("start->a:x>1e999; a->end;").issues[0].message
    assert "too long" in error_of("start->a:x>" + "9" * 41 + "; a->end;").issues[0].message
    parse("start->a:x>" + "9" * 40 + "; a->end;")


def test_empty_natural_language_condition_is_refused():
    issue = error_of('start->a:"   "; a->end;').issues[0]
    assert "empty natural-language condition" in issue.message and issue.column == 10


# --- deep nesting and limits --------------------------------------------------------------


@pytest.mark.parametrize(
    "cond",
    [
        "(" * 10_000 + "x" + ")" * 10_000,
        "not " * 10_000 + "x",
        "(" * 10_000,
        "[" * 10_000,
        " and ".join(["(x"] * 5_000) + ")" * 5_000,
    ],
)
def test_deep_nesting_is_refused_cleanly(cond):
    t0 = time.process_time()  # this process's CPU time: a loaded machine's other work does not count
    with pytest.raises(DSLError) as info:
        parse(f"start->a:{cond};a->end;")
    assert time.process_time() - t0 < 5
    assert not isinstance(info.value.__context__, RecursionError)
    assert info.value.issues[0].line == 1


def test_nesting_up_to_the_limit_is_accepted():
    from engine.dsl.parser import MAX_DEPTH

    ok = "(" * (MAX_DEPTH - 2) + "x" + ")" * (MAX_DEPTH - 2)
    parse(f"start->a:{ok};a->end;")
    too_deep = "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1)
    issue = error_of(f"start->a:{too_deep};a->end;").issues[0]
    assert issue.code == "too_deep" and "nested too deeply" in issue.message


def test_oversize_input_is_refused_with_a_clear_message():
    text = "start->a;" + " " * 1_000_000 + "a->end;"
    issue = error_of(text).issues[0]
    assert issue.code == "too_large"
    assert "bytes; the limit is 1,000,000 bytes" in issue.message
    assert "WORKBENCH_DSL_MAX_BYTES" in issue.hint


def test_byte_limit_is_configurable_per_call():
    issue = error_of("start->a; a->end;", max_bytes=10).issues[0]
    assert "17 bytes; the limit is 10 bytes" in issue.message


def test_transition_limit_counts_statements_before_parsing():
    text = "start->s0;" + "".join(f"s{i}->s{i + 1};" for i in range(30)) + "s30->end;"
    issue = error_of(text, max_transitions=10).issues[0]
    assert issue.code == "too_large" and "32 transitions; the limit is 10" in issue.message
    # arrows inside comments and strings do not count
    parse("# -> -> -> ->\nstart->a:x=='->->->';a->end;", max_transitions=2)


def test_names_have_a_length_limit():
    from engine.dsl.parser import MAX_NAME

    parse(f"start->{'a' * MAX_NAME};{'a' * MAX_NAME}->end:{'v' * MAX_NAME}==1;{'a' * MAX_NAME}->end;")
    issue = error_of(f"start->{'a' * 1000};").issues[0]
    assert issue.code == "too_large" and "1,000 characters" in issue.message and issue.column == 8
    issue = error_of(f"start->a:x.{'v' * 1000}==1;a->end;").issues[0]
    assert "name too long" in issue.message and issue.column == 12


def test_too_many_list_items_are_refused():
    items = ",".join(["1"] * 3_000)
    assert error_of(f"start->a:x in [{items}];a->end;").issues[0].code == "too_large"


def test_nul_character_is_refused_with_position():
    issue = error_of("start->a;\na\x00->end;").issues[0]
    assert (issue.line, issue.column) == (2, 2) and "NUL" in issue.message


def test_non_text_input():
    with pytest.raises(DSLError):
        parse(b"start->end;")  # type: ignore[arg-type]


# --- structural errors found while parsing ------------------------------------------------


def test_empty_fan_out_member_points_at_the_comma():
    issue = error_of("start->[a,,b];").issues[0]
    assert issue.code == "empty_member" and (issue.line, issue.column) == (1, 11)
    assert "remove the extra ','" in issue.hint


def test_empty_group():
    issue = error_of("start->a;\na->[];").issues[0]
    assert issue.code == "empty_member" and "'[]'" in issue.message and (issue.line, issue.column) == (2, 4)


def test_trailing_comma_in_a_fan_in():
    issue = error_of("start->[a,b];\n[a,b,]->end;").issues[0]
    assert issue.code == "empty_member" and (issue.line, issue.column) == (2, 5)


def test_group_to_group_is_refused():
    issue = error_of("start->a;\n[a,b]->[c,d];").issues[0]
    assert issue.code == "group_to_group" and (issue.line, issue.column) == (2, 1)
    assert "merge" in issue.hint


def test_duplicate_group_member():
    issue = error_of("start->[a,a];").issues[0]
    assert issue.code == "duplicate_member" and issue.column == 11


@pytest.mark.parametrize(
    "text,line,col,fragment",
    [
        ("start->a;\na->start;", 2, 4, "'start' cannot be a target"),
        ("start->end;\nend->a;", 2, 1, "'end' cannot have outgoing"),
        ("start->[a,b];\n[a,end]->c;", 2, 4, "'end' cannot have outgoing"),
    ],
)
def test_reserved_names(text, line, col, fragment):
    issue = error_of(text).issues[0]
    assert issue.code == "reserved" and fragment in issue.message
    assert (issue.line, issue.column) == (line, col)
    assert issue.hint


def test_every_structural_parse_error_is_reported_at_once():
    err = error_of("start->[a,,b];\nx->start;\n[p,q]->[r,s];")
    assert [i.code for i in err.issues] == ["empty_member", "reserved", "group_to_group"]
    assert "\n" in err.format("f.dsl") and err.format("f.dsl").startswith("f.dsl:1:11: error:")


def test_parse_condition_positions_are_relative_to_the_condition():
    with pytest.raises(DSLError) as info:
        parse_condition("x > 1 and f(y)")
    assert (info.value.line, info.value.column) == (1, 12)
    with pytest.raises(DSLError):
        parse_condition("x > 1; start->end")
