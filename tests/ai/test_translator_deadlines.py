"""Deadlines in negative conditions (issue 16 follow-up): "if there is still no answer after 3 days", "if there is
no reply within 2 days", "if the customer has not paid within 30 days" are a yes/no on the answer
(``has_answer==False``) with the deadline as a note for the waiting step's timeout — not a step named
``answer_3_days``, a made-up ``has_issues``, or a number compared with the days (``no_reply_days<2``).
"""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "body", "deadline"),
    [
        (
            "Send the quote. If there is no reply within 2 days, call the customer.",
            "has_reply==False",
            "call_customer",
            "within 2 days",
        ),
        (
            "Email the invoice. If the customer has not paid within 30 days, send it to collections.",
            "customer_paid==False",
            "send_collections",
            "within 30 days",
        ),
        (
            "Ask the supplier for a quote. If there is no response by Friday, escalate to purchasing.",
            "has_response==False",
            "escalate_purchasing",
            "by Friday",
        ),
    ],
)
def test_a_deadline_is_a_note_and_the_condition_is_yes_no(text, cond, body, deadline):
    model, r = translated(text)
    edges = {
        (tr.condition.text.replace(" ", ""), x) for tr in model.transitions if tr.is_conditional for x in tr.targets
    }
    assert (cond, body) in edges, r.dsl
    assert not any("days" in s or "friday" in s for s in model.states), r.dsl
    assert any(deadline in n and "deadline" in n for n in r.notes), r.notes


def test_still_no_answer_after_a_reminder_to_a_person_waits_for_their_reply():
    """After a step that contacts a person, "if there is (still) no answer after 3 days" is a wait for their
    reply that times out after 3 days (as "if there is no answer within 3 days" was already), not a
    decision on ``has_answer``, which no step sets."""
    model, r = translated(
        "After 24 hours, send a reminder to the applicant. If there is still no answer after 3 days, close the "
        "application."
    )
    assert "send_reminder_applicant->wait_applicant_reply;" in r.dsl
    assert "wait_applicant_reply->close_application:@error;" in r.dsl
    assert "has_answer" not in r.dsl
    assert r.answer_within["wait_applicant_reply"] == 3 * 86_400


def test_a_positive_age_stays_a_number():
    r = translate_offline("Check the ticket. If the ticket is older than 3 days, escalate it.")
    assert "ticket_age_days>3" in r.dsl.replace(" ", ""), r.dsl
