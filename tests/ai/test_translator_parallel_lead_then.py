"""A leading parallel phrase ends at a sequence word (issue 16 follow-up): "In parallel, check the stock and
reserve the truck, then confirm the order" fans out the two steps and runs confirm_order after the fan-in
(was a third branch and an invented merge_results step)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "branches", "after"),
    [
        (
            "In parallel, check the stock and reserve the truck, then confirm the order.",
            {"check_stock", "reserve_truck"},
            "confirm_order",
        ),
        (
            "Simultaneously, load the store sales and load the web sales, then total them up.",
            {"load_store_sales", "load_web_sales"},
            "total_sales",
        ),
        (
            "Read the report. Meanwhile, notify the customer, then close the ticket.",
            {"read_report", "notify_customer"},
            "close_ticket",
        ),
        (
            "At the same time, book the venue and order the catering, and then send the invitations.",
            {"book_venue", "order_catering"},
            "send_invitations",
        ),
    ],
)
def test_a_sequence_word_ends_the_parallel_lead(text, branches, after):
    model, r = translated(text)
    fan_in = [t for t in model.transitions if len(t.sources) >= 2]
    assert len(fan_in) == 1, r.dsl
    assert set(fan_in[0].sources) == branches, r.dsl
    assert fan_in[0].targets == (after,), r.dsl
    assert "merge_results" not in r.dsl, r.dsl
