"""A message to a person is named by who gets it and what it is about: "Email the customer asking for
confirmation of the order" is ``email_customer_confirmation`` (it used to be ``email_customer_asking``,
cut at the participle). "asking them to review the draft" keeps naming what they are asked to do."""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


def _first_step(text: str) -> str:
    dsl = offline_translation(text).dsl
    return dsl.split("start->", 1)[1].split(";", 1)[0].split(":", 1)[0].strip()


@pytest.mark.parametrize(
    "text, step",
    [
        ("Email the customer asking for confirmation of the order.", "email_customer_confirmation"),
        ("Call the client asking about the delay.", "call_client_delay"),
        ("Email the manager requesting approval of the budget.", "email_manager_approval"),
        ("Write to the landlord explaining the problem.", "write_landlord_problem"),
        ("Send the supplier a reminder asking for the invoice.", "send_supplier_reminder_invoice"),
    ],
)
def test_a_message_is_named_by_its_recipient_and_what_it_is_about(text, step):
    assert _first_step(text) == step


@pytest.mark.parametrize(
    "text, step",
    [
        ("Message the team asking them to review the draft.", "message_team_review_draft"),
        ("Email the attendees reminding them of the date.", "email_attendees_date"),
    ],
)
def test_a_participle_with_a_pronoun_keeps_naming_what_they_are_asked(text, step):
    assert _first_step(text) == step


def test_the_reply_wait_after_such_a_message_names_the_person():
    tr = offline_translation(
        "Email the customer asking for confirmation of the order. If they don't reply within 2 days, call them."
    )
    assert "start->email_customer_confirmation;" in tr.dsl, tr.dsl
    assert "email_customer_confirmation->wait_customer_reply;" in tr.dsl, tr.dsl
