"""A case that only needs an approval, beside the rest being done "right away", is done after the approval:
"Orders above 1000 euros need the manager's approval; everything else is shipped right away" ended the
run after the approval, so approved orders were never shipped."""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "approval", "step"),
    [
        (
            "Orders above 1000 euros need the manager's approval; everything else is shipped right away.",
            "get_manager_approval",
            "ship_orders",
        ),
        (
            "Expenses over 500 require the CFO's approval; smaller ones are paid immediately.",
            "get_cfo_approval",
            "pay_expenses",
        ),
        (
            "Invoices under 200 are paid automatically; larger invoices need approval from finance.",
            "get_finance_approval",
            "pay_invoices",
        ),
        (  # "without approval" is not part of the step's name (was process_refunds_approval)
            "Refunds above 100 need a manager's sign-off, the rest are processed without approval.",
            "get_manager_approval",
            "process_refunds",
        ),
    ],
)
def test_the_approval_a_case_needs_leads_to_what_the_others_get_at_once(text, approval, step):
    model, r = translated(text)
    # approved ones go on to the step; a rejected one ends there (it was the end for approved ones too)
    assert f"{approval}->{step}:approved!=False;" in r.dsl and f"{approval}->end;" in r.dsl, r.dsl
    decision = next(t.sources[0] for t in model.transitions if t.targets == (approval,))
    assert {t.targets[0] for t in model.transitions if t.sources == (decision,)} == {approval, step}, r.dsl
    first = r.dsl.splitlines()[1]
    assert first.startswith(f"{decision}->") and ":" in first, r.dsl  # the condition is written first


@pytest.mark.parametrize(
    "text",
    [
        # no "right away": whether approved orders are then shipped is not said
        "Orders above 1000 euros need the manager's approval; everything else is shipped.",
        # the other path is not done without the approval: it is a different step
        "Orders above 1000 euros need the manager's approval; everything else is archived. Then notify the team.",
        # the others' step is the approval itself, given without a person: not done again after it
        "Purchase requests over 5000 need the manager's approval; smaller ones are approved automatically.",
    ],
)
def test_without_a_done_at_once_the_approval_path_is_left_as_written(text):
    _, r = translated(text)
    for step in ("ship_orders", "archive_orders", "approve_purchase_requests"):
        assert f"get_manager_approval->{step}" not in r.dsl, r.dsl


@pytest.mark.parametrize(
    ("text", "decision", "approval", "step"),
    [
        (
            "Receive the payment request. If the payment is over 10000 euros, it needs a second approval from the "
            "CFO before it is released.",
            "receive_payment_request",
            "get_cfo_approval",
            "release_payment",
        ),
        (
            "Check the order. Orders above 1000 euros need the manager's approval before they are shipped.",
            "check_order",
            "get_manager_approval",
            "ship_orders",
        ),
        (
            "If the expense is above 500, it requires the manager's approval, then pay it and notify the employee.",
            "check_expense_value",
            "get_manager_approval",
            "pay_expense",
        ),
    ],
)
def test_what_follows_the_approval_one_case_needs_is_done_for_every_case(text, decision, approval, step):
    """The payment over 10000 euros needs the CFO; the others are released without (they ended the run)."""
    model, r = translated(text)
    assert f"{approval}->{step}:approved!=False;" in r.dsl and f"{approval}->end;" in r.dsl, r.dsl
    assert {t.targets[0] for t in model.transitions if t.sources == (decision,)} == {approval, step}, r.dsl
    assert f"{decision}->end;" not in r.dsl, r.dsl


def test_an_approval_that_is_not_needed_leaves_the_other_case_as_written():
    _, r = translated("If the customer is new, ask the manager to approve it, then send a welcome pack.")
    assert "->send_welcome_pack;" in r.dsl, r.dsl


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("It needs a second approval from the CFO.", "get_cfo_approval"),  # was approve_cfo, approved by "second"
        ("The payment needs a final approval from the director.", "get_director_approval"),
        ("Get the manager's written approval.", "get_manager_approval"),  # was a plain step, nobody asked
        ("Get the CFO's final sign-off.", "get_cfo_approval"),  # was get_cfo_final_approval
    ],
)
def test_which_approval_it_is_is_not_who_gives_it(text, name):
    _, r = translated(text)
    assert f"start->{name};" in r.dsl, r.dsl
    assert offline_translation(text).bindings[name]["action"] == "approval"


@pytest.mark.parametrize(
    ("text", "source", "step"),
    [
        (  # "before payment": the step the noun names comes after the approval ("also" kept the condition)
            "Book the invoice. Invoices over 50000 euros also need the CFO's approval before payment.",
            "book_invoice",
            "pay_invoice",
        ),
        (  # the condition on the step before, in a longer description (the others ended the run)
            "When a new supplier invoice arrives, extract the fields with the LLM and match it against the "
            "purchase order. If the amounts differ by more than 5 percent, send it to accounts payable for "
            "review; otherwise book it in the ERP. Invoices over 50000 euros also need the CFO's approval "
            "before payment.",
            "book_invoice_erp",
            "pay_invoices",
        ),
    ],
)
def test_a_noun_after_before_is_the_step_every_case_goes_to(text, source, step):
    model, r = translated(text)
    assert f"get_cfo_approval->{step}:approved!=False;" in r.dsl, r.dsl
    out = {t.targets[0]: t.is_conditional for t in model.transitions if t.sources == (source,)}
    assert out == {"get_cfo_approval": True, step: False}, r.dsl


@pytest.mark.parametrize(
    "text",
    [
        "Orders above 1000 euros always need the manager's approval.",
        "Orders above 1000 euros additionally require the manager's approval.",
    ],
)
def test_an_adverb_before_what_the_items_need_keeps_their_condition(text):
    _, r = translated(text)
    assert "->get_manager_approval:order_amount>1000;" in r.dsl, r.dsl


@pytest.mark.parametrize(
    "text",
    [
        "Get legal's approval before publication.",  # no item that needs it: no step made up
        "Write the release notes before the release.",  # not an approval: the noun stays where it was
    ],
)
def test_a_noun_after_before_without_an_item_needing_approval_makes_no_step(text):
    _, r = translated(text)
    assert "publish" not in r.dsl and "release_release" not in r.dsl, r.dsl
