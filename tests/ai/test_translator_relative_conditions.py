"""A condition in a relative clause of the step's object ("Flag any order where the total is over 500"),
or on the items a step acts on ("Flag any transaction above 10,000"); the scope of "in parallel".

It was a decision on ``where_total`` before a step named ``flag_order_where_total``: the relative clause
is what the step's object is compared on (``order_total>500``), and the step is named by what it does.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, cond, step",
    [
        ("Flag any order where the total is over 500.", "order_total>500", "flag_order"),
        ("Tag every ticket whose age is more than 3 days.", "ticket_age_days>3", "tag_ticket"),
        ("Escalate any claim that has an amount above 10000.", "claim_amount>10000", "escalate_claim"),
        ("Escalate any claim with an amount above 10000.", "claim_amount>10000", "escalate_claim"),
    ],
)
def test_the_relative_clause_is_the_condition_on_the_steps_object(text, cond, step):
    dsl = offline_translation(text).dsl
    assert f"->{step}:{cond};" in dsl, dsl
    assert "where" not in dsl and "has_amount" not in dsl


def test_a_step_on_any_item_above_a_threshold_is_a_decision_with_an_otherwise():
    """ "Flag any transaction above 10,000 for manual review … Everything else is booked" was one step
    flag_transaction_above_10000 whose @error path booked the rest."""
    tr = offline_translation(
        "Every morning at 7, fetch yesterday's transactions from the bank API. Flag any transaction above 10,000 "
        "for manual review by compliance. Everything else is booked automatically into the ledger. At the end, "
        "email a summary to the CFO."
    )
    dsl = tr.dsl
    assert "fetch_yesterday_transactions->flag_transaction:transaction_value>10000;" in dsl
    assert "fetch_yesterday_transactions->book_into_ledger;" in dsl
    assert "flag_transaction->email_summary_cfo;" in dsl and "book_into_ledger->email_summary_cfo;" in dsl
    assert "@error" not in dsl
    assert tr.bindings["flag_transaction"]["action"] == "approval"


@pytest.mark.parametrize(
    "text, before, branches",
    [
        (
            "Upload the video, transcode it to 720p and 1080p in parallel, generate a thumbnail, and publish it "
            "once everything is done.",
            "upload_video",
            ["transcode_720p", "transcode_1080p"],  # the upload ran in parallel with them
        ),
        (
            "Download the file, then check stock and credit in parallel.",
            "download_file",
            ["check_stock", "check_credit"],
        ),
    ],
)
def test_in_parallel_after_one_verb_over_several_objects_is_only_that_steps(text, before, branches):
    assert f"{before}->[{','.join(branches)}];" in offline_translation(text).dsl


def test_in_parallel_after_several_verbs_runs_them_all():
    dsl = offline_translation("Send the email, update the CRM and notify sales in parallel.").dsl
    assert "->[send_email,update_crm,notify_sales];" in dsl
