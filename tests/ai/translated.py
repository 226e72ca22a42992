"""The translator tests' common step: translate a description offline and parse the DSL it wrote."""

from __future__ import annotations

from engine.ai.offline_translator import translate_offline
from engine.dsl.validate import check


def translated(text: str):
    """``(model, result)``: the parsed workflow of ``translate_offline(text)`` and the translation itself;
    fails the test, showing the DSL and its errors, when the DSL does not validate."""
    result = translate_offline(text)
    model, report = check(result.dsl)
    assert not report.errors, (result.dsl, report.errors)
    return model, result


def chain(dsl: str, *, no_conditions: bool = False) -> list[str]:
    """The steps from start along each step's first unconditional transition until end (the DSL must
    validate; with ``no_conditions`` it must have no conditional transition at all)."""
    model, report = check(dsl)
    assert not report.errors, dsl
    if no_conditions:
        assert not any(t.is_conditional for t in model.transitions), dsl
    order, cur = [], "start"
    while True:
        nxt = [x for t in model.transitions if cur in t.sources and not t.is_conditional for x in t.targets]
        if not nxt or nxt[0] == "end":
            return order
        cur = nxt[0]
        order.append(cur)
