"""'it' in a condition right after another condition whose branch has two steps (issue 16 follow-up): "If the
parcel is lost, refund the buyer and file a claim …; if it is only late, apologise …" — 'it' is the parcel
(parcel_late beside parcel_lost; was claim_late, asked only after the claim was filed)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "first", "second", "second_step"),
    [
        (
            "If the parcel is lost, refund the buyer and file a claim with the carrier; if it is only late, "
            "apologise to the buyer.",
            "parcel_lost",
            "parcel_late",
            "apologise_buyer",
        ),
        (
            "Inspect the pallet. If the pallet is damaged, photograph the damage and notify the supplier. If it is "
            "wet, move it to the dry room.",
            "pallet_damaged",
            "pallet_wet",
            None,
        ),
    ],
)
def test_it_means_the_earlier_condition_subject(text, first, second, second_step):
    model, r = translated(text)
    by_cond = {t.condition.text: t for t in model.transitions if t.condition is not None}
    assert f"{first}==True" in by_cond, r.dsl
    assert f"{second}==True" in by_cond, r.dsl
    assert by_cond[f"{first}==True"].sources == by_cond[f"{second}==True"].sources, r.dsl
    if second_step:
        assert by_cond[f"{second}==True"].targets == (second_step,), r.dsl
