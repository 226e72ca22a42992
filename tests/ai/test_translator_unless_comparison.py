"""'unless' with a comparison (issue 16 follow-up): "Back up the laptop unless the battery is below 20%" guards
the step with the opposite comparison (battery_percent>=20), which the engine evaluates — not a quoted
natural-language condition "not: battery_percent<20" that needs a model at run time."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "step", "cond"),
    [
        ("Back up the laptop unless the battery is below 20%.", "back_up_laptop", "battery_percent>=20"),
        ("Ship the order unless the amount is over 1000 dollars.", "ship_order", "amount<=1000"),
        ("Escalate the ticket unless the priority is low.", "escalate_ticket", "priority!='low'"),
    ],
)
def test_unless_flips_one_comparison(text, step, cond):
    model, r = translated(text)
    guarded = [t.condition.text for t in model.transitions if t.condition is not None and step in t.targets]
    assert guarded == [cond], r.dsl
    assert "not:" not in r.dsl, r.dsl
