"""A department before a colon, then a sentence with its own subject (issue 16 follow-up): "Support: tickets
tagged billing go to the finance team, everything else goes to the help desk" — 'Support' is a title and the
rest a decision on the tickets (ticket_tagged_billing; was one step tag_billing_go with an @error path)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "var", "yes", "no", "title"),
    [
        (
            "Support: tickets tagged billing go to the finance team, everything else goes to the help desk.",
            "ticket_tagged_billing",
            "route_ticket_finance_team",
            "route_help_desk",
            "Support",
        ),
        (
            "Warehouse: orders marked as fragile are sent to the packing station; the rest go to the conveyor.",
            "order_marked_fragile",
            "send_order_packing_station",
            "route_conveyor",
            "Warehouse",
        ),
        (
            "Claims: claims labelled fraud go to the investigations team. Everything else goes to the adjusters.",
            "claim_labelled_fraud",
            "route_claim_investigations_team",
            "route_adjusters",
            "Claims",
        ),
        (
            "Support: if the ticket is tagged billing, send it to the finance team; otherwise send it to the help desk.",
            "ticket_tagged_billing",
            "send_ticket_finance_team",
            "send_ticket_help_desk",
            "Support",
        ),
        (
            "Read the email. Emails flagged urgent go to the on-call lead, the others go to the shared inbox.",
            "email_flagged_urgent",
            "route_email_on_call_lead",
            "route_shared_inbox",
            None,
        ),
    ],
)
def test_a_department_title_then_a_tagged_segment(text, var, yes, no, title):
    model, r = translated(text)
    conds = {(x, t.condition.text) for t in model.transitions if t.condition is not None for x in t.targets}
    assert (yes, f"{var}==True") in conds, r.dsl
    assert (no, f"{var}==False") in conds, r.dsl
    if title:
        assert any(title in n and "title" in n for n in r.notes), r.notes
        assert title.lower() + "==" not in r.dsl, r.dsl
