"""A choice of means by a preference (issue 16 follow-up): "Notify the customer by SMS or email, depending on their
preference" is a decision on the preference with one step per option (``notify_customer_sms`` when
``preference=='sms'``, otherwise ``notify_customer_email``), not one step plus ``notify_depending_preference``.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "first", "other", "after"),
    [
        (
            "Notify the customer by SMS or email, depending on their preference.",
            "preference=='sms'",
            "notify_customer_sms",
            "notify_customer_email",
            "end",
        ),
        (
            "Confirm the booking. Send the invoice by post or by email depending on the customer's billing "
            "preference. Then close the case.",
            "billing_preference=='post'",
            "send_invoice_post",
            "send_invoice_email",
            "close_case",
        ),
    ],
)
def test_a_choice_by_preference_is_a_decision(text, cond, first, other, after):
    model, r = translated(text)
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert (cond, first) in conds, r.dsl
    assert other in model.states and after in model.states, r.dsl
    for step in (first, other):
        assert any(step in t.sources and after in t.targets for t in model.transitions), r.dsl
    assert not any("depending" in s for s in model.states), r.dsl
