"""The decision after a labelling step reads what the step outputs, named as a noun; a person who
decides is an approval, and "if so" after it reads its answer.

"Classify the ticket with the LLM. Urgent tickets go to …" decided on ``classify=='urgent'``: the verb,
not what classifying gives. A classifying step outputs a ``category``, a rating step a ``rating``; verbs
whose output has the verb's own name (tag, label, score, grade) keep it.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, step, var, value",
    [
        (
            "Classify the ticket with the LLM. Urgent tickets go to the on-call engineer; everything else goes "
            "to the support queue.",
            "classify_ticket",
            "category",
            "urgent",
        ),
        (
            "Use the LLM to categorise each lead. Hot leads go to sales, cold leads go to the nurture campaign.",
            "categorise_lead",
            "category",
            "hot",
        ),
        (
            "Have the AI tag each review. Negative reviews go to the support team; the rest are archived.",
            "tag_review",
            "tag",
            "negative",
        ),
    ],
)
def test_the_decision_after_a_label_step_reads_its_output_noun(text, step, var, value):
    tr = offline_translation(text)
    assert f"{step}->" in tr.dsl
    assert f"{var}=={value!r}" in tr.dsl, tr.dsl
    assert "classify==" not in tr.dsl and "categorise==" not in tr.dsl


def test_screening_with_the_llm_sorts_by_its_rating_and_a_person_deciding_is_an_approval():
    text = (
        "When a candidate applies, screen the CV with the LLM. Strong candidates get a phone interview; weak "
        "ones get a polite rejection email. After the interview, the hiring manager decides whether to make an "
        "offer. If so, send the offer letter; if not, send a rejection."
    )
    tr = offline_translation(text)
    dsl = tr.dsl
    assert "screen_cv->send_phone_interview:rating=='strong';" in dsl  # was a sequence of both
    assert "screen_cv->send_polite_rejection_email:rating=='weak';" in dsl  # was get_polite_rejection_email
    assert "send_phone_interview->approve_offer;" in dsl  # was hire_manager_decides: 'hiring' is no verb
    assert tr.bindings["approve_offer"]["action"] == "approval"
    # the approval's answer, which it gives (was approve_offer_ok==True, which nothing sets)
    assert "approve_offer->send_offer_letter:approved==True;" in dsl
    assert "approve_offer->send_rejection:approved==False;" in dsl


@pytest.mark.parametrize(
    "text, name",
    [
        ("The CFO decides whether to go ahead with the purchase.", "approve_purchase"),
        ("Review the application. The manager decides whether to approve the refund.", "approve_refund"),
    ],
)
def test_a_person_who_decides_whether_to_do_something_approves_it(text, name):
    tr = offline_translation(text)
    assert tr.bindings[name]["action"] == "approval"


def test_if_so_after_an_approval_reads_its_answer():
    dsl = offline_translation(
        "The manager decides whether to approve the refund; if yes, pay it, otherwise notify the customer."
    ).dsl
    assert "approve_refund->pay_refund:approved==True;" in dsl
    assert "approve_refund->notify_customer:approved==False;" in dsl
    assert "_ok==" not in dsl


def test_a_system_that_decides_is_no_approval():
    tr = offline_translation("Collect the data. The system decides whether to retrain the model.")
    assert not any(b.get("action") == "approval" for b in tr.bindings.values())
