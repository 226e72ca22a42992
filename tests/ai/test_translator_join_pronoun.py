"""'them' right after a fan-in (issue 16 follow-up): "… in parallel, then sum them" works on the branches'
outputs — named by their shared head noun (sum_totals) or 'results' — never sum_step, and never named after
the last branch alone (merge_credit_notes)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def join_target(text: str) -> tuple[str, str]:
    model, r = translated(text)
    fan_in = [t for t in model.transitions if len(t.sources) >= 2]
    assert fan_in, r.dsl
    return fan_in[0].targets[0], r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Compute the EU totals and the US totals in parallel, then sum them.", "sum_totals"),
        ("Fetch the invoices and the credit notes in parallel, then merge them.", "merge_results"),
        ("Fetch the invoices and the credit notes in parallel, then sum them and email the result.", "sum_results"),
        ("Load the store sales and the web sales at the same time, then total them up.", "total_sales"),
        ("Run the unit tests and the integration tests in parallel. Then collect them.", "collect_tests"),
    ],
)
def test_them_after_a_join_is_the_branches_outputs(text, want):
    got, dsl = join_target(text)
    assert got == want, dsl
