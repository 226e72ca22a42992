"""'for any <thing>, <step>' (issue 16 follow-up): "For any mismatch, open a ticket" is a condition on there
being one (has_mismatch==True -> open_ticket_accountant; was a step mismatch_step, or reconcile_mismatch when
it followed 'and,')."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "step"),
    [
        (
            "Reconcile the statement against the ledger. For any mismatch, open a ticket for the accountant.",
            "has_mismatch==True",
            "open_ticket_accountant",
        ),
        (
            "Download the bank statement, reconcile it against the ledger and, for any mismatch, open a ticket for "
            "the accountant.",
            "has_mismatch==True",
            "open_ticket_accountant",
        ),
        ("Check the invoices. For any duplicate, notify the vendor.", "has_duplicate==True", "notify_vendor"),
    ],
)
def test_for_any_is_a_condition(text, cond, step):
    model, r = translated(text)
    guarded = [t.condition.text for t in model.transitions if t.condition is not None and step in t.targets]
    assert guarded == [cond], r.dsl
    assert "_step" not in r.dsl and "reconcile_mismatch" not in r.dsl, r.dsl
