"""A perfect tense with a participle the predicate list does not know (issue 16 follow-up): "when the ice has
melted" is ice_melted (was has_melted, as if the ice had a 'melted'); "the applicants have withdrawn" ->
applicants_withdrawn, "the contractor has broken the seal" -> contractor_broken_seal. Possession is unchanged
("the employee has a company car" -> has_company_car, "the issue has related tickets")."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def condition_vars(text: str) -> tuple[set[str], str]:
    model, r = translated(text)
    return {t.condition.text for t in model.transitions if t.condition is not None}, r.dsl


@pytest.mark.parametrize(
    ("text", "cond"),
    [
        ("Defrost the freezer. When the ice has melted, wipe the shelves.", "ice_melted==True"),
        ("Review the shortlist. If the applicants have withdrawn, archive the file.", "applicants_withdrawn==True"),
        ("Inspect the crate. If the contractor has broken the seal, call the insurer.", "contractor_broken_seal==True"),
        ("Check the lease. If the tenant has moved out, inspect the flat.", "tenant_moved_out==True"),
    ],
)
def test_a_perfect_tense_keeps_its_subject(text, cond):
    conds, dsl = condition_vars(text)
    assert cond in conds, dsl


@pytest.mark.parametrize(
    ("text", "cond"),
    [
        ("If the employee has a company car, collect the keys.", "has_company_car==True"),
        ("If the issue has related tickets, link them.", "has_related_tickets==True"),
    ],
)
def test_possession_is_unchanged(text, cond):
    conds, dsl = condition_vars(text)
    assert cond in conds, dsl
