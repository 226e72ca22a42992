"""'it' in a condition right after another condition and its one-step branch is that condition's subject (issue 16
follow-up): "Check the invoice. If it is overdue, send a reminder. If it is disputed, call the customer." checks
invoice_disputed beside invoice_overdue (was reminder_disputed, asked only after the reminder was sent); with other
steps in between, 'it' is again what was read last ("Receive the delivery. If it is damaged" -> delivery_damaged).
"""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "source", "branches"),
    [
        (
            "Check the invoice. If it is overdue, send a reminder. If it is disputed, call the customer.",
            "check_invoice",
            {("invoice_overdue==True", "send_reminder"), ("invoice_disputed==True", "call_customer")},
        ),
        (
            "Send the newsletter. If it bounced, clean the address; if it was opened, tag the reader as engaged.",
            "send_newsletter",
            {("newsletter_bounced==True", "clean_address"), ("newsletter_opened==True", "tag_reader_as_engaged")},
        ),
        (
            "Inspect the pallet. If it is wet, dry the boxes. If it is broken, replace the pallet.",
            "inspect_pallet",
            {("pallet_wet==True", "dry_boxes"), ("pallet_broken==True", "replace_pallet")},
        ),
    ],
)
def test_it_after_a_condition_is_the_same_subject(text, source, branches):
    model, r = translated(text)
    conds = {
        (t.condition.text, x) for t in model.transitions if t.is_conditional and source in t.sources for x in t.targets
    }
    assert branches <= conds, r.dsl


def test_it_after_other_steps_is_what_was_read_last():
    r = translate_offline(
        "Check the stock. If it is low, order more. Receive the delivery. If it is damaged, return it."
    )
    assert "delivery_damaged==True" in r.dsl, r.dsl
