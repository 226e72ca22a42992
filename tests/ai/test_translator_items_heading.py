"""A short '<adjective/participle> <plural noun>:' heading before an instruction about 'them' (s23): the heading
names the items and 'them' is those items ("Complete forms: pass them to HR" -> pass_forms…, was the one step
complete_forms_pass_hr reading "Complete" as a verb). "Complete the forms, then …" keeps the verb reading."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "step", "not_a_verb"),
    [
        ("Complete forms: pass them to HR.", "pass_forms_hr", "complete"),
        ("Open tickets: assign them to the support lead.", "assign_tickets_support_lead", "open"),
        ("Clean towels: fold them and put them in the cupboard.", "fold_towels", "clean"),
        (
            "Collect the forms. Complete forms: file them in the archive. Other forms: return them to the sender.",
            "file_forms_archive",
            "complete",
        ),
    ],
)
def test_them_is_the_items_the_heading_names(text, step, not_a_verb):
    model, r = translated(text)
    assert step in model.states, r.dsl
    assert not any(s.startswith(not_a_verb + "_") for s in model.states), r.dsl


def test_a_heading_with_a_sibling_segment_is_a_decision_on_the_items():
    model, r = translated("Complete forms: pass them to HR. Incomplete forms: return them to the applicant.")
    targets = {x for t in model.transitions if t.is_conditional for x in t.targets}
    assert {"pass_forms_hr", "return_forms_applicant"} <= targets, r.dsl


def test_a_verb_with_its_object_keeps_the_verb_reading():
    _, r = translated("Complete the forms, then send them to HR.")
    assert chain(r.dsl)[0] == "complete_forms", r.dsl
