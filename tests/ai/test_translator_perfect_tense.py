"""Conditions in the perfect tense (issue 16 follow-up): "unless the marketing lead has paused it", "only if
the editor has approved it", "unless the payment has been flagged as fraud" are about who did what
(``marketing_lead_paused``, ``payment_flagged_fraud``), not a ``has_…`` possession that drops the subject;
real possession ("the employee has unused vacation days") is unchanged.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.validate import check


def conditions(text: str) -> list[str]:
    t = offline_translation(text)
    model, rep = check(t.dsl)
    assert not rep.errors, (t.dsl, rep.errors)
    return [tr.condition.text.replace(" ", "") for tr in model.transitions if tr.is_conditional]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Send the weekly newsletter unless the marketing lead has paused it.", "marketing_lead_paused==False"),
        ("Publish the article only if the editor has approved it. Then tweet the link.", "editor_approved==True"),
        ("Ship the order unless the payment has been flagged as fraud.", "payment_flagged_fraud==False"),
        ("Renew the subscription unless the customer has cancelled it.", "customer_cancelled==False"),
        ("Check the parcel. If the order has shipped, send the tracking link.", "order_shipped==True"),
    ],
)
def test_a_perfect_tense_keeps_its_subject(text, expected):
    conds = conditions(text)
    assert expected in conds, conds
    assert not any(c.startswith("has_") for c in conds), conds


def test_possession_is_still_has():
    conds = conditions("Check the balance. If the employee has unused vacation days, pay them out. Close the year.")
    assert any(c.startswith("has_unused_vacation_days") for c in conds), conds
