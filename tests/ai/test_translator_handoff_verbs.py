"""Hand-off verbs that look inflected (s23): "pass" (ends in -s) and "bring" (ends in -ing) were not read as
verbs, so "Pass the forms to HR" was pass_forms (the recipient dropped with no verb to hang it on), "Pass the
invoice to finance" invoice_finance ('invoice' read as the verb) and "Review the request and pass it to legal"
review_pass_legal (the first verb lent to a verb-less part). Now the recipient is kept as after "send"/"give";
a recipient that does not fit the four-word name is still dropped, and "if they pass" is still a condition."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Pass the forms to HR.", ["pass_forms_hr"]),
        ("Pass the invoice to finance.", ["pass_invoice_finance"]),
        ("Review the request and pass it to legal.", ["review_request", "pass_request_legal"]),
        ("Qualify the lead, then pass it to sales.", ["qualify_lead", "pass_lead_sales"]),
        ("Review the request and bring it to the manager.", ["review_request", "bring_request_manager"]),
        ("Address the complaint and pass it to the manager.", ["address_complaint", "pass_complaint_manager"]),
    ],
)
def test_pass_and_bring_keep_their_object_and_recipient(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == want, r.dsl


def test_a_recipient_past_the_length_rule_is_still_dropped():
    _, r = translated("Route the refund request to the billing team.")
    assert chain(r.dsl, no_conditions=True) == ["route_refund_request"], r.dsl


def test_pass_in_a_condition_is_still_a_condition():
    model, r = translated("Run the tests; if they pass, deploy the build.")
    assert {"run_tests", "deploy_build"} <= set(model.states), r.dsl
    assert any(t.is_conditional for t in model.transitions), r.dsl
    assert not any(s.startswith("pass_") for s in model.states), r.dsl
