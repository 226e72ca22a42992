"""A condition in a relative clause of the step's object: "Flag any order where the total is over 500".

It was a decision on ``where_total`` before a step named ``flag_order_where_total``: the relative clause
is what the step's object is compared on (``order_total>500``), and the step is named by what it does.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, cond, step",
    [
        ("Flag any order where the total is over 500.", "order_total>500", "flag_order"),
        ("Tag every ticket whose age is more than 3 days.", "ticket_age_days>3", "tag_ticket"),
        ("Escalate any claim that has an amount above 10000.", "claim_amount>10000", "escalate_claim"),
        ("Escalate any claim with an amount above 10000.", "claim_amount>10000", "escalate_claim"),
    ],
)
def test_the_relative_clause_is_the_condition_on_the_steps_object(text, cond, step):
    dsl = offline_translation(text).dsl
    assert f"->{step}:{cond};" in dsl, dsl
    assert "where" not in dsl and "has_amount" not in dsl
