"""The safe condition evaluator: semantics, error messages, and that nothing reaches eval/exec/compile."""

import ast
import builtins
from pathlib import Path

import pytest

from engine.dsl import ConditionError, DSLError, evaluate_condition, parse, parse_condition
from engine.dsl.conditions import literals_for, variables_of


def ev(cond: str, **ctx) -> bool:
    return evaluate_condition(parse_condition(cond), ctx)


@pytest.mark.parametrize(
    "cond,ctx,expected",
    [
        ("x == 1", {"x": 1}, True),
        ("x == 1", {"x": 2}, False),
        ("x != 1", {"x": 2}, True),
        ("x < 5", {"x": 4}, True),
        ("x <= 5", {"x": 5}, True),
        ("x > 5", {"x": 5}, False),
        ("x >= 5.5", {"x": 5.5}, True),
        ("x > -1", {"x": 0}, True),
        ("600 <= score < 700", {"score": 650}, True),
        ("600 <= score < 700", {"score": 700}, False),
        ("600 <= score < 700", {"score": 599}, False),
        ("status in ['new', 'open']", {"status": "open"}, True),
        ("status not in ['new', 'open']", {"status": "open"}, False),
        ("3 in [1, 2, 3.0]", {}, True),
        ("'err' in message", {"message": "an error occurred"}, True),
        ("'err' not in message", {"message": "fine"}, True),
        ("tag in tags", {"tag": "b", "tags": ["a", "b"]}, True),
        ("key in mapping", {"key": "k", "mapping": {"k": 1}}, True),
        ("approved == True", {"approved": True}, True),
        ("approved", {"approved": True}, True),
        ("not approved", {"approved": False}, True),
        ("a and b", {"a": True, "b": False}, False),
        ("a or b", {"a": False, "b": True}, True),
        ("a and (b or not c)", {"a": True, "b": False, "c": False}, True),
        ("not a == 1", {"a": 2}, True),
        ("order.total > 100", {"order": {"total": 150}}, True),
        ("order.customer.tier == 'gold'", {"order": {"customer": {"tier": "gold"}}}, True),
        ("name == 'it\\'s'", {"name": "it's"}, True),
        ("x == None", {"x": None}, True),
        ("flag == False", {"flag": False}, True),
    ],
)
def test_semantics(cond, ctx, expected):
    assert ev(cond, **ctx) is expected


def test_missing_names_compare_equal_to_none():
    assert ev("missing == None") is True
    assert ev("missing != 1") is True
    assert ev("order.missing == None", order={"total": 1}) is True
    assert ev("order.total.deeper == None", order={"total": 1}) is True  # a non-dict in the middle is missing too


def test_missing_name_alone_is_false():
    assert ev("missing") is False
    assert ev("not missing") is True


def test_and_or_short_circuit_before_an_error():
    assert ev("x > 1 and missing > 2", x=0) is False
    assert ev("x > 1 or missing > 2", x=5) is True


def test_ordering_with_a_missing_name_names_the_variable():
    with pytest.raises(ConditionError) as info:
        ev("score >= 600")
    assert "'score' is not in the context" in str(info.value) and "'>='" in str(info.value)
    with pytest.raises(ConditionError, match="'order.total' is not in the context"):
        ev("order.total > 100", order={})


def test_ordering_with_none_is_an_error():
    with pytest.raises(ConditionError, match="'score' is None"):
        ev("score < 1", score=None)


def test_type_mismatch_message():
    with pytest.raises(ConditionError) as info:
        ev("score > 600", score="high")
    assert str(info.value) == "cannot compare str 'high' > int 600"


def test_in_with_a_non_collection_right_side():
    with pytest.raises(ConditionError, match="'x' is a int; 'in' needs a list or a string"):
        ev("1 in x", x=5)
    with pytest.raises(ConditionError, match="'in' a string needs a string on the left"):
        ev("1 in name", name="abc")
    with pytest.raises(ConditionError, match="'tags' is not in the context"):
        ev("'a' in tags")


def test_unhashable_value_in_a_mapping():
    with pytest.raises(ConditionError, match="cannot test"):
        ev("x in m", x=[1], m={"a": 1})


def test_context_objects_attributes_are_never_read():
    class Obj:
        total = 500

        def __getattr__(self, item):  # pragma: no cover - must never be called
            raise AssertionError("attribute read")

    assert ev("order.total == None", order=Obj()) is True


def test_accepts_condition_objects_and_text():
    cond = parse("start->a:x>1;a->end;").transitions[0].condition
    assert evaluate_condition(cond, {"x": 2}) is True
    assert evaluate_condition("x > 1 and y in [1]", {"x": 2, "y": 1}) is True
    with pytest.raises(ConditionError, match="natural-language"):
        evaluate_condition(parse_condition('"is the customer angry?"'), {})
    with pytest.raises(ConditionError, match="@error"):
        evaluate_condition(parse_condition("@error"), {})
    with pytest.raises(DSLError):
        evaluate_condition("x(", {})
    with pytest.raises(ConditionError):
        evaluate_condition(object(), {})  # type: ignore[arg-type]


def test_variables_and_literals():
    expr = parse_condition("a.b > 1 and (c in ['x'] or not a.b == 2) and d").expr
    assert variables_of(expr) == ("a.b", "c", "d")
    assert literals_for(expr) == {"a.b": [1, 2], "c": ["x"], "d": [True]}


# --- no eval / exec / compile ------------------------------------------------------------------

DSL_DIR = Path(__file__).resolve().parents[2] / "engine" / "dsl"
FORBIDDEN = {"eval", "exec", "compile", "__import__", "execfile", "input", "open", "globals", "locals", "vars"}


def test_dsl_sources_never_call_eval_exec_or_compile():
    files = sorted(DSL_DIR.glob("*.py"))
    assert len(files) >= 7
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re":
                    continue  # re.compile builds a regular expression, it runs no code
                assert name not in FORBIDDEN, f"{path.name}:{node.lineno} calls {name}()"
            if isinstance(node, ast.Name):
                assert node.id not in ("eval", "exec", "compile", "__import__"), f"{path.name}:{node.lineno}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                assert not {"ast", "importlib", "pickle", "marshal", "subprocess"} & set(mods), path.name


HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__init__.__globals__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "eval('1+1') == 2",
    "exec('import os')",
    "compile('1', 'x', 'eval')",
    "lambda: __import__('os')",
    "open('/etc/passwd').read()",
    'f\'{__import__("os").system("id")}\'',
    "'a' * 10 ** 10 == x",
    "9 ** 9 ** 9 > 1",
    "x if x else y",
    "globals()['x']",
    "x.y(1)",
    "x[0:1]",
    "{**x}",
    "*x",
    "x; import os",
    "\\x5f\\x5fimport\\x5f\\x5f('os')",
]


@pytest.fixture
def no_dynamic_code(monkeypatch):
    """Make eval/exec/compile/__import__ fail when called from engine/dsl code (others pass through)."""
    import sys

    from engine.dsl.parser import _parser

    _parser()  # build the (cached) parser first: lark's own set-up is not under test here
    dsl_dir = str(DSL_DIR)
    calls = []

    def make_trap(name, original):
        def trap(*args, **kwargs):
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_code.co_filename.startswith(dsl_dir):
                    calls.append(name)
                    raise AssertionError(f"{name} reached from {frame.f_code.co_filename}")
                frame = frame.f_back
            return original(*args, **kwargs)

        return trap

    for name in ("eval", "exec", "compile", "__import__"):
        monkeypatch.setattr(builtins, name, make_trap(name, getattr(builtins, name)))
    yield calls
    assert calls == []


@pytest.mark.parametrize("cond", HOSTILE)
def test_hostile_conditions_never_reach_eval(no_dynamic_code, cond):
    with pytest.raises(DSLError):
        parse(f"start->evil:{cond};evil->end;")


def test_accepted_conditions_evaluate_without_eval(no_dynamic_code):
    model = parse("start->a:x.y > 1 and z in ['a', \"b\"] or not (q == None);a->end;")
    assert evaluate_condition(model.transitions[0].condition, {"x": {"y": 2}, "z": "a"}) is True
