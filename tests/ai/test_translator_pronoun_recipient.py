"""'them'/'it' handed to a bare recipient (s23): "Complete the forms, then send them to HR" is send_forms_hr
(was send_hr: a recipient without "the" — HR, payroll, accounts payable, tier 2 — took the pronoun's place, while
"to the customer" already kept it). A format or a language after "to" ("convert it to PDF") keeps today's name."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Complete the forms, then send them to HR.", ["complete_forms", "send_forms_hr"]),
        ("Collect the timesheets and send them to payroll.", ["collect_timesheets", "send_timesheets_payroll"]),
        (
            "Prepare the invoice, then forward it to accounts payable.",
            ["prepare_invoice", "forward_invoice_accounts_payable"],
        ),
        ("Log the incident and escalate it to tier 2.", ["log_incident", "escalate_incident_tier_2"]),
        ("Check the request and send it to QA.", ["check_request", "send_request_qa"]),
    ],
)
def test_the_pronoun_is_the_previous_object_and_the_recipient_stays(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == want, r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Export the report, then convert it to PDF.", "convert_pdf"),
        ("Read the email and translate it to Spanish.", "translate_spanish"),
    ],
)
def test_a_format_or_a_language_after_to_keeps_todays_name(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True)[-1] == want, r.dsl
