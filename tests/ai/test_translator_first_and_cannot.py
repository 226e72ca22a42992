"""Two readings found trying realistic prose: "larger claims need a site visit first" (beside "small claims
are paid immediately") skipped the payment after the visit, and "if the label cannot be created" became
a decision on a made-up ``label_cannot_created`` flag instead of the step's failure path."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    "text",
    [
        "Estimate the damage. Claims under 2000 euros are paid immediately; larger claims need a site visit first. "
        "After payment, close the claim.",
        "Estimate the damage. Claims above 2000 euros need a site visit first; smaller ones are paid immediately. "
        "After payment, close the claim.",
    ],
)
def test_steps_done_first_on_one_path_lead_to_the_other_paths_step(text):
    model, r = translated(text)
    assert "get_site_visit->pay_claims;" in r.dsl, r.dsl
    assert "pay_claims->close_claim;" in r.dsl and "get_site_visit->close_claim;" not in r.dsl, r.dsl
    assert {t.targets[0] for t in model.transitions if t.sources == ("estimate_damage",)} == {
        "pay_claims",
        "get_site_visit",
    }, r.dsl


@pytest.mark.parametrize(
    ("text", "step", "fallback"),
    [
        (
            "Reserve the stock and create a shipping label. If the label cannot be created, flag the order.",
            "create_shipping_label",
            "flag_order",
        ),
        ("Generate the invoice. If it cannot be generated, alert finance.", "generate_invoice", "alert_finance"),
    ],
)
def test_cannot_be_done_is_the_steps_failure_path(text, step, fallback):
    _, r = translated(text)
    assert f"{step}->{fallback}:@error;" in r.dsl, r.dsl


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Parse the CV and score it against the job description using the LLM.",
            "score_cv_job_description",  # was score_job_description_using
        ),
        ("Read the email and score it against the rubric using the LLM.", "score_email_rubric"),
    ],
)
def test_the_model_a_step_uses_is_not_part_of_its_name(text, name):
    _, r = translated(text)
    assert f"->{name};" in r.dsl and "using" not in r.dsl, r.dsl
