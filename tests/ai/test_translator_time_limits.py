"""A time limit on a step (issue 16 follow-up): "refund the customer within 5 days unless the item is used" keeps
its 'unless' condition (was dropped), "Within 2 hours, call the client" is a note on the step (was a step named
step_2_hours); a deadline inside a condition ("no reply within 3 days") is read as before.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "step"),
    [
        (
            "Receive the return. Refund the customer within 5 days unless the item is used.",
            "item_used==False",
            "refund_customer",
        ),
        (
            "Log the complaint. Reply to the customer within 24 hours if the order is late.",
            "order_late==True",
            "reply_customer",
        ),
        ("Send the quote. If there is no reply within 3 days, call the prospect.", "has_reply==False", "call_prospect"),
    ],
)
def test_a_time_limit_keeps_the_condition(text, cond, step):
    model, r = translated(text)
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert (cond, step) in conds, r.dsl


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Receive the return. Within 5 days, refund the customer.", {"receive_return", "refund_customer"}),
        ("Answer the ticket within 4 hours and close it.", {"answer_ticket", "close_ticket"}),
    ],
)
def test_a_time_limit_is_a_note_not_a_step(text, steps):
    model, r = translated(text)
    assert set(model.states) - {"start", "end"} == steps, r.dsl
    assert any("time limit" in n for n in r.notes), r.notes
