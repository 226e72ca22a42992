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


@pytest.mark.parametrize(
    "text, branches",
    [
        (
            "Two reviewers score each application independently and in parallel. Average the scores.",
            ["score_application_1", "score_application_2"],
        ),
        (
            "Three analysts review the report in parallel, then the manager signs off.",
            ["review_report_1", "review_report_2", "review_report_3"],
        ),
    ],
)
def test_counted_people_doing_the_same_work_in_parallel_get_a_branch_each(text, branches):
    assert _branches(_dsl(text)) == branches


def test_counted_things_are_not_people():
    assert "[" not in _dsl("Two servers process the batch in parallel.")


@pytest.mark.parametrize(
    "text",
    [
        "Export the orders table and export the payments table. Do both exports in parallel. Then reconcile them.",
        "Export the orders table and the payments table. (Do both in parallel.) Then reconcile them.",
        "Nightly at 2am:\n* export the orders table\n* export the payments table\n* (do both exports in parallel)\n"
        "* reconcile orders against payments",
    ],
)
def test_a_later_parallel_order_may_name_the_work_or_stand_in_parentheses(text):
    assert _branches(_dsl(text)) == ["export_orders_table", "export_payments_table"]


def test_an_ai_step_over_a_parallel_list_is_one_ai_call_per_item():
    result = translated(
        "When a product description is published in English, have the LLM translate it into French, German "
        "and Spanish at the same time, then publish them on the store."
    )[1]
    branches = ["translate_description_french", "translate_description_german", "translate_description_spanish"]
    assert _branches(result.dsl) == branches
    assert set(branches) <= set(result.ai_states)
    one = translated("Use AI to extract the supplier, amount and due date.")[1]  # no parallel words: one call
    assert len(one.ai_states) == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("For each new lead, enrich it with Clearbit, then score it.", ["enrich_lead", "score_lead"]),
        ("Receive the PDF, scan it with the antivirus, then store it in S3.", ["scan_pdf", "store_pdf_s3"]),
        ("Get the contract, then share it with the legal team.", ["share_legal_team"]),
        ("Receive the ticket, then send an auto-reply to the customer.", ["send_auto_reply_customer"]),
        ("For each incoming support email, classify it.", ["receive_incoming_support_email", "classify_support_email"]),
        ("For each CV we receive, score it.", ["receive_cv"]),
    ],
)
def test_names_of_tools_compounds_and_arrivals(text, expected):
    dsl = _dsl(text)
    for name in expected:
        assert f"{name};" in dsl or f"{name}->" in dsl, dsl


def test_an_ai_classification_of_an_attribute_names_the_attribute_and_routes_by_category():
    dsl = _dsl(
        "When a support ticket is created, classify its urgency with AI. Urgent tickets go to the on-call "
        "engineer; everything else is added to the backlog."
    )
    assert "urgency=='urgent'" in dsl
    dsl = _dsl(
        "Sort each ticket with AI into bug, feature or question. Bugs go to engineering; questions get an auto-reply."
    )
    assert "send_auto_reply:category=='question'" in dsl
    dsl = _dsl("Classify the email with AI as billing, technical or other. Billing emails go to finance.")
    assert "route_finance:category=='billing'" in dsl
