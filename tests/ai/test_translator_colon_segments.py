"""A short noun phrase before a colon (issue 16 follow-up) is read by the shape of the text: at the start, with no
sibling segment, it is a title whose noun is what "them" means next ("Vendor payments: export them to the ERP" ->
export_payments_erp, was a decision on vendor_payments==True); after earlier steps or beside a sibling
("VIP customers: … Other customers: …") it is a segment, and "Other …"/"Everyone else:" is the otherwise branch
(was customers==True).
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def _model(text: str):
    model, r = translated(text)
    return model, r


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Vendor payments: export them to the ERP, then notify finance.", ["export_payments_erp", "notify_finance"]),
        ("Expense claims: scan the receipts and file them.", ["scan_receipts", "file_receipts"]),
    ],
)
def test_a_noun_phrase_title_is_not_a_condition(text, steps):
    model, r = _model(text)
    assert not any(t.is_conditional for t in model.transitions), r.dsl
    assert all(s in model.states for s in steps), r.dsl
    assert any("as a title" in n for n in r.notes), r.notes


@pytest.mark.parametrize(
    ("text", "cond", "yes", "no"),
    [
        (
            "VIP customers: route to the priority queue. Other customers: add to the normal queue.",
            "vip_customers==True",
            "route_priority_queue",
            "add_normal_queue",
        ),
        (
            "Receive the ticket. Premium accounts: assign a named agent. Everyone else: reply with the FAQ link. "
            "Then close the ticket.",
            "premium_accounts==True",
            "assign_named_agent",
            "reply_faq_link",
        ),
    ],
)
def test_segments_before_a_colon_are_branches(text, cond, yes, no):
    model, r = _model(text)
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert (cond, yes) in conds, r.dsl
    assert (cond.replace("True", "False"), no) in conds, r.dsl


def test_a_segment_after_earlier_steps_stays_a_condition():
    model, r = _model("Receive the ticket. VIP customers: route to the priority queue. Then close the ticket.")
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert ("vip_customers==True", "route_priority_queue") in conds, r.dsl
    assert "close_ticket" in model.states, r.dsl
