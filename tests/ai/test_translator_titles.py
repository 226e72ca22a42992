"""A title before a colon (issue 16 follow-up): "Onboarding: order the laptop …", "Month-end close: reconcile the
accounts …" name the process; the first step is ``order_laptop``, not ``onboard_order_laptop`` or
``close_reconcile_accounts``. A condition before a colon ("Urgent: page the on-call engineer") is still one.
"""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from engine.dsl.model import START
from engine.dsl.validate import check
from tests.ai.translated import translated


def first_step(text: str):
    model, r = translated(text)
    return [x for t in model.transitions if t.source == START for x in t.targets][0], r, model


@pytest.mark.parametrize(
    ("text", "step", "title"),
    [
        ("Onboarding: order the laptop and book the welcome lunch.", "order_laptop", "Onboarding"),
        ("Month-end close: reconcile the accounts, then lock the period.", "reconcile_accounts", "Month-end close"),
    ],
)
def test_a_title_is_not_part_of_the_first_step(text, step, title):
    got, r, _ = first_step(text)
    assert got == step, r.dsl
    if title:
        assert any(title in n and "title" in n for n in r.notes), r.notes


def test_a_condition_before_a_colon_is_still_a_condition():
    r = translate_offline("Check the alert. Urgent: page the on-call engineer. Otherwise add it to the digest.")
    model, rep = check(r.dsl)
    assert not rep.errors
    assert any(t.is_conditional for t in model.transitions), r.dsl
