"""Parallel objects, what follows a join, and dotted event names (s25).

* In a parallel scope a lone word that is also a noun is another object of the verb before it:
  "check stock and credit in parallel" is check_stock and check_credit (was credit_stock: "credit" read
  as a verb acting on the stock). Sequential prose keeps reading such a word as a verb on the object.
* An action without an object right after a join acts on the joined results (or on what the workflow is
  about), never on the last branch's object: "…, then decide" is decide_results (was decide_employment).
* A dotted name compared in a condition ("the event type is invoice.paid") is one value compared as text
  (was a flag named type_invoice_paid); "it is …" after it compares the same variable.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def _dsl(text: str) -> str:
    """The translation's DSL (validated by :func:`translated`)."""
    return translated(text)[1].dsl


def _branches(dsl: str) -> list[str]:
    groups = [line.split("->")[1] for line in dsl.replace("\n", " ").split(";") if "->[" in line]
    assert groups, dsl
    return groups[0].strip("[] ").split(",")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "When an order comes in, check stock and credit in parallel, then confirm the order.",
            ["check_stock", "check_credit"],
        ),
        ("In parallel, check inventory and pricing, then quote the customer.", ["check_inventory", "check_pricing"]),
        (
            "Verify income and employment at the same time, then open the account.",
            ["verify_income", "verify_employment"],
        ),
    ],
)
def test_a_lone_noun_in_a_parallel_scope_is_another_object_of_the_verb(text, expected):
    dsl = _dsl(text)
    assert _branches(dsl) == expected


def test_sequential_prose_still_reads_a_lone_verb_as_acting_on_the_object():
    dsl = _dsl("Download the file and unzip, then load the rows.")
    assert "unzip_file" in dsl


@pytest.mark.parametrize(
    "text, after",
    [
        ("At the same time, verify income and employment. Then decide.", "decide_results"),
        ("Check stock and credit in parallel, then review.", "review_results"),
        ("Verify income and employment in parallel, then approve.", "approve_results"),
        (
            "When a loan application arrives, verify income and employment in parallel, then approve.",
            "approve_loan_application",
        ),
    ],
)
def test_an_action_without_object_after_a_join_acts_on_the_results_not_the_last_branch(text, after):
    dsl = _dsl(text)
    joins = [line for line in dsl.replace("\n", " ").split(";") if line.strip().startswith("[")]
    assert joins and joins[0].split("->")[1].strip() == after, dsl


def test_dotted_event_names_are_compared_as_text():
    dsl = _dsl(
        "When a webhook arrives, if the event type is invoice.paid, send a receipt. "
        "If it is invoice.payment_failed, email the customer."
    )
    assert "send_receipt:event_type=='invoice.paid'" in dsl
    assert "email_customer:event_type=='invoice.payment_failed'" in dsl
    dsl = _dsl("If the event is customer.subscription.deleted, cancel the account; otherwise log it.")
    assert "cancel_account:event=='customer.subscription.deleted'" in dsl
    dsl = _dsl("Wait for the invoice. If the status is not invoice.paid, send a reminder.")
    assert "send_reminder:status!='invoice.paid'" in dsl
