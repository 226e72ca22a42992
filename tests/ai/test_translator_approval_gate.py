"""A case that only needs an approval, beside the rest being done "right away", is done after the approval:
"Orders above 1000 euros need the manager's approval; everything else is shipped right away" ended the
run after the approval, so approved orders were never shipped."""

from __future__ import annotations

import pytest

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
    assert f"{approval}->{step};" in r.dsl and f"{approval}->end;" not in r.dsl, r.dsl
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
        assert f"get_manager_approval->{step};" not in r.dsl, r.dsl
