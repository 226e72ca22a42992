"""'them' in a colon segment (issue 16 follow-up): "Critical alerts: page … Other alerts: add them to the
digest" — 'them' is that segment's items (add_alerts_digest), not the sibling condition's words
(was add_critical_digest); in a condition segment ("Legal letters: forward them to counsel") it is that
segment's items too (forward_letters_counsel, was forward_counsel)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "want", "bad_word"),
    [
        (
            "Check the alert. Critical alerts: page the on-call engineer. Other alerts: add them to the digest.",
            "add_alerts_digest",
            "critical",
        ),
        (
            "Review each ticket. Urgent tickets: call the customer. Other tickets: put them in the backlog.",
            "put_tickets_backlog",
            "urgent",
        ),
        (
            "Sort the mail. Legal letters: forward them to counsel. Other letters: scan them into the records system.",
            "scan_letters_records_system",
            "counsel",
        ),
        (
            "Sort the orders. Express orders: ship them today. Remaining orders: batch them for Friday.",
            "batch_orders_friday",
            "express",
        ),
    ],
)
def test_them_in_an_otherwise_segment_is_its_items(text, want, bad_word):
    model, r = translated(text)
    else_targets = [
        x for t in model.transitions if t.condition is not None and "==False" in t.condition.text for x in t.targets
    ]
    assert want in else_targets, r.dsl
    assert not any(bad_word in x for x in else_targets), r.dsl


@pytest.mark.parametrize(
    ("text", "yes", "no"),
    [
        (
            "Sort the mail. Legal letters: forward them to counsel. Other letters: scan them into the records system.",
            "forward_letters_counsel",
            "scan_letters_records_system",
        ),
        ("VIP customers: call them. Other customers: email them.", "call_customers", "email_customers"),
        (
            "Open the night shift log. Safety incidents: escalate them to the plant manager. Minor issues: note them "
            "in the handover.",
            "escalate_incidents_plant_manager",
            "note_issues_handover",
        ),
        (
            "Sort the orders. Express orders: ship them today. Remaining orders: batch them for Friday.",
            "ship_orders_today",
            "batch_orders_friday",
        ),
    ],
)
def test_them_in_a_condition_segment_is_its_items(text, yes, no):
    model, r = translated(text)
    targets = {
        (x, t.condition.text.endswith("True")) for t in model.transitions if t.condition is not None for x in t.targets
    }
    assert (yes, True) in targets, r.dsl
    assert (no, False) in targets or no in r.dsl, r.dsl
