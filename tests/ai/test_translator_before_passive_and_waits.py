"""Three readings found trying realistic prose: "… before it is released" lost the release step (a passive
after "before" is the next step, as "before releasing it" already was); a wait's length became what
"it"/"them" meant next ("wait a week, then remind them" -> remind_week); "remind those who have not
answered" names the people spoken of, like "them"."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("The manager reviews the invoice before it is paid.", ["review_invoice", "pay_invoice"]),
        (
            "Validate the order before it is shipped, then email the customer.",
            ["validate_order", "ship_order", "email_customer"],
        ),
        ("Check the contract before the documents are signed.", ["check_contract", "sign_documents"]),
    ],
)
def test_a_passive_after_before_is_the_next_step(text, steps):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == steps, r.dsl


def test_the_release_after_a_second_approval_is_a_step():
    _, r = translated(
        "If the payment is over 10000 euros, it needs a second approval from the CFO before it is released."
    )
    assert "release_payment" in r.dsl, r.dsl


def test_a_wait_is_not_what_a_later_pronoun_means():
    _, r = translated("Send the survey to the attendees, wait a week, then remind them.")
    assert chain(r.dsl, no_conditions=True) == ["send_survey_attendees", "wait_week", "remind_attendees"], r.dsl
    _, r = translated("Send the invoice, wait two weeks, then chase it.")
    assert "chase_invoice" in r.dsl, r.dsl


def test_those_who_are_the_people_spoken_of():
    _, r = translated("Send the survey to all attendees, wait a week, then remind those who have not answered.")
    assert "remind_attendees" in r.dsl, r.dsl


def test_hours_worked_are_still_a_topic():
    _, r = translated("Payroll: HR exports the hours, finance checks them and the bank pays the salaries.")
    assert "check_hours" in r.dsl, r.dsl


@pytest.mark.parametrize(
    ("text", "last"),
    [
        (
            "Receive the support email, detect its language, translate it to English if needed, and classify it.",
            "classify_support_email",  # was classify_english: where "it" went is not what "it" is
        ),
        ("Open the invoice, check its total, and pay it.", "pay_invoice"),  # "its total": the invoice's
        ("For each new lead, enrich it with Clearbit, then score it.", "score_lead"),
    ],
)
def test_it_keeps_meaning_the_thing_after_a_target_or_an_attribute_of_it(text, last):
    _, r = translated(text)
    assert f"{last}->end;" in r.dsl, r.dsl
