"""'if it is low/high' about a thing that has no priority (issue 16 follow-up) is a yes/no on that thing
("Check the fuel. If it is low" -> fuel_low==True; was priority=='low'), also right after a sibling condition
("the temperature is high …; if it is low" -> temperature_low); a ticket's "high" stays a priority.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "step"),
    [
        ("Check the fuel. If it is low, refuel the truck.", "fuel_low==True", "refuel_truck"),
        (
            "Read the sensor. If the temperature is high, open the vent; if it is low, close the vent.",
            "temperature_low==True",
            "close_vent",
        ),
        (
            "Measure the water pressure. If it is high, open the relief valve.",
            "pressure_high==True",
            "open_relief_valve",
        ),
        ("Triage the ticket. If it is high, page the on-call engineer.", "priority=='high'", "page_on_call_engineer"),
    ],
)
def test_a_level_of_the_topic_is_a_yes_no_on_it(text, cond, step):
    model, r = translated(text)
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert (cond, step) in conds, r.dsl
