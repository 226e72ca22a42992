"""Two readings found trying realistic prose: "For any product below its reorder point, create a purchase
order" made a step ``reorder_point`` (a comparison with a named value after "for any/each" is a condition,
as "If the product is below its reorder point" already was), and "Score each application. Approve it above
700" compared ``application_value`` (the condition after its own step is about what came before it:
the score)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    "lead",
    [
        "For any product below its reorder point",
        "For each product below the reorder point",
        "For products below their reorder point",
        "For every product that is below its reorder point",
    ],
)
def test_for_any_item_below_a_named_value_is_a_condition(lead):
    _, r = translated(f"Check the inventory. {lead}, create a purchase order.")
    assert "check_inventory->create_purchase_order:product<reorder_point;" in r.dsl, r.dsl
    assert "reorder_point;" not in r.dsl.replace("product<reorder_point;", ""), r.dsl  # no step of that name


def test_a_number_after_for_every_is_read_as_before():
    _, r = translated("Check the inventory levels. For every order over 500 euros, ask the manager for approval.")
    assert "order_amount>500" in r.dsl, r.dsl


@pytest.mark.parametrize(
    ("text", "var"),
    [
        ("Score the application. Approve it above 700, otherwise decline it.", "application_score"),
        ("Score each loan application. If it is above 700, approve it; otherwise decline it.", "application_score"),
    ],
)
def test_a_threshold_after_a_scoring_step_compares_the_score(text, var):
    _, r = translated(text)
    assert f"{var}>700" in r.dsl, r.dsl


@pytest.mark.parametrize(
    ("text", "other"),
    [
        (
            "Leads from companies with more than 500 employees go to enterprise sales, the rest to the SMB team.",
            "route_smb_team",
        ),
        ("Urgent tickets go to the on-call engineer, everything else into the queue.", "route_queue"),
    ],
)
def test_the_rest_to_a_place_after_a_routing_is_its_otherwise(text, other):
    """ ", the rest to the SMB team" (no verb of its own) is where the others go (was a step leads_companies)."""
    model, r = translated(text)
    decision = next(s for s in model.states if any(t.is_conditional for t in model.transitions if t.sources == (s,)))
    outs = [t for t in model.transitions if t.sources == (decision,)]
    assert any(t.targets == (other,) and t.condition is None for t in outs), r.dsl


@pytest.mark.parametrize(
    ("text", "cond"),
    [
        ("When a customer places an order over 1000 euros, run a fraud check.", "order_amount>1000"),
        ("If a customer submits a claim above 2000 euros, ask an adjuster to review it.", "claim_amount>2000"),
    ],
)
def test_an_amount_after_what_a_person_does_is_the_amount_of_what_they_act_on(text, cond):
    """ "a customer places an order over 1000 euros": the order's amount (was place_order_amount)."""
    _, r = translated(text)
    assert cond in r.dsl, r.dsl
