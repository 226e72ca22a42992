"""'them' after a condition about a person is that person: "If the customer complains, call them" calls the
customer (it used to read "call the ticket", the step's topic). A plural noun in between keeps its reading:
"If the manager rejects the requests, return them" returns the requests."""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, step",
    [
        ("Review the ticket. If the customer complains, call them.", "call_customer"),
        ("Ship the order. If the supplier is late, email them.", "email_supplier"),
        ("Check the invoice. If the customer has paid, thank them.", "thank_customer"),
        ("Read the form. When the applicant is eligible, invite him.", "invite_applicant"),
    ],
)
def test_them_after_a_condition_about_a_person_is_that_person(text, step):
    tr = offline_translation(text)
    assert f"->{step}:" in tr.dsl, tr.dsl


@pytest.mark.parametrize(
    "text, step",
    [
        ("Collect the requests. If the manager rejects the requests, return them.", "return_requests"),
        ("Process the paycheck. If the employee has unused vacation days, pay them out.", "pay_out_vacation_days"),
    ],
)
def test_a_plural_noun_in_between_is_what_them_means(text, step):
    tr = offline_translation(text)
    assert f"->{step}:" in tr.dsl, tr.dsl
