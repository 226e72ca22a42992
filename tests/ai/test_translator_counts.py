"""Counts in conditions (issue 16 follow-up): "there are at least 3 items", "it has more than 10 lines",
"fewer than 3 reviewers have signed off" compare a count of the noun after the number (``item_count>=3``),
not the step's object (``bulk_discount>=3``) or a doubled word (``lines_lines``); amounts keep their meaning.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.validate import check


def conditions(text: str) -> list[str]:
    t = offline_translation(text)
    model, rep = check(t.dsl)
    assert not rep.errors, (t.dsl, rep.errors)
    return [
        tr.condition.text if hasattr(tr.condition, "text") else str(tr.condition)
        for tr in model.transitions
        if tr.is_conditional
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Count the items in the basket. Apply the bulk discount only if there are at least 3 items. "
            "Then charge the customer.",
            "item_count>=3",
        ),
        (
            "Check the order. If it has more than 10 lines, split it into two shipments. Ship the order.",
            "line_count>10",
        ),
        (
            "If the basket contains at least 5 items, add free shipping. Then send the confirmation.",
            "basket_item_count>=5",
        ),
        (
            "Scan the upload folder. If there are more than 100 files, archive the old ones. Then report the total.",
            "file_count>100",
        ),
        (
            "If fewer than 3 reviewers have signed off, remind the reviewers. Otherwise merge the pull request.",
            "reviewer_count<3",
        ),
        (
            "Read the queue. When the queue holds more than 500 messages, add a worker. Process the messages.",
            "queue_message_count>500",
        ),
    ],
)
def test_a_count_compares_the_number_of_the_counted_thing(text, expected):
    conds = conditions(text)
    assert any(c.replace(" ", "") == expected for c in conds), conds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Receive the purchase request. If the amount is more than 5,000 euros, have the CFO approve it; "
            "otherwise approve it automatically.",
            "amount>5000",
        ),
        ("Check the upload. If the file is larger than 10 MB, compress it. Store the file.", "file_size_mb>10"),
    ],
)
def test_amounts_and_sizes_are_not_counts(text, expected):
    conds = conditions(text)
    assert any(c.replace(" ", "") == expected for c in conds), conds
