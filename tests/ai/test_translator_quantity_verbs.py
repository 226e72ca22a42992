"""A quantity noun used as the verb (issue 16 follow-up): "count them by category", "total the refunds" start
their own step (count_tickets, total_refunds) instead of merging into the previous one (was pull_count)."""

from __future__ import annotations

import pytest

from engine.dsl.model import END, START
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Pull last week's tickets, count them by category and post the counts to Slack.",
            ["pull_last_week_tickets", "count_tickets", "post_counts_slack"],
        ),
        ("Export the refunds, then total the refunds and email the sum.", ["export_refunds", "total_refunds"]),
        ("Collect the votes and tally them.", ["collect_votes", "tally_votes"]),
    ],
)
def test_a_quantity_noun_first_is_the_verb(text, want):
    model, r = translated(text)
    names = list(dict.fromkeys(s for t in model.transitions for s in (t.source, *t.targets) if s not in (START, END)))
    assert names[: len(want)] == want, r.dsl
