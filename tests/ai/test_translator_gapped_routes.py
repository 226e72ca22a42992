"""Routes listed with the verb left out after the first ("billing tickets go to the finance queue, technical
ones to engineering") are one branch each, like routes written out in full; and "the premium plan" at the end
of a condition is part of it, not a step ``plan``."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    "text",
    [
        "Classify the ticket with the LLM. Billing tickets go to the finance queue, technical ones to engineering.",
        "Classify the ticket with the LLM. Billing tickets go to the finance queue and technical ones to engineering.",
        # the same, written out: the reading the gapped forms must match
        "Classify the ticket with the LLM. Billing tickets go to the finance queue; technical tickets go to engineering.",
    ],
)
def test_a_route_without_its_verb_is_a_branch_of_its_own(text):
    model, r = translated(text)
    out = {
        t.targets[0]: t.condition and t.condition.text for t in model.transitions if t.sources == ("classify_ticket",)
    }
    assert out.get("route_finance_queue") == "category=='billing'", r.dsl
    assert out.get("route_engineering") == "category=='technical'", r.dsl
    assert "route_finance_queue->route_engineering;" not in r.dsl, r.dsl  # was one after the other


def test_three_gapped_routes_and_everything_else():
    model, r = translated(
        "Classify each email as invoice, complaint or other. Invoices are sent to accounting, complaints to "
        "support, and everything else to the general inbox."
    )
    out = {
        t.targets[0]: t.condition and t.condition.text for t in model.transitions if t.sources == ("classify_email",)
    }
    assert out == {
        "send_to_accounting": "category=='invoice'",
        "send_to_support": "category=='complaint'",
        "route_general_inbox": None,
    }, r.dsl


@pytest.mark.parametrize(
    ("text", "var"),
    [
        (
            "Route the ticket. If the customer is on the enterprise plan, also page the account manager. "
            "Close the ticket.",
            "customer_enterprise_plan",
        ),
        (
            "Route the ticket. If the customer is on the premium plan, page the account manager.",
            "customer_premium_plan",
        ),
    ],
)
def test_a_plan_after_its_tier_is_part_of_the_condition(text, var):
    _, r = translated(text)
    assert f"route_ticket->page_account_manager:{var}==True;" in r.dsl, r.dsl
    assert "plan_ticket" not in r.dsl, r.dsl  # was a step "plan" before paging


def test_a_support_desk_described_in_prose():
    _, r = translated(
        "When a support ticket comes in, classify it with the LLM. Billing tickets go to the finance queue, "
        "technical ones to engineering. If the customer is on the enterprise plan, also page the account "
        "manager. Close the ticket once it is resolved."
    )
    for line in (
        "classify_support_ticket->route_finance_queue:category=='billing';",
        "classify_support_ticket->route_engineering:category=='technical';",
        "route_finance_queue->check_customer_enterprise_plan;",
        "route_engineering->check_customer_enterprise_plan;",
        "check_customer_enterprise_plan->page_account_manager:customer_enterprise_plan==True;",
        "page_account_manager->close_ticket;",
    ):
        assert line in r.dsl, r.dsl
