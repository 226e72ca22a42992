"""Schedule phrases inside a sentence, named sources and possessive pronouns (s25).

* A schedule word between two steps ("scrape competitor prices nightly, compare them …") is taken out
  and the comma that separates the steps stays (was one step scrape_competitor_prices_compare).
* "Run this every night at 2am, …" is a schedule (was no schedule and a step named run_2am).
* "from Google Ads and Meta": two named sources of one step, not a second step (was pull_meta).
* "compare them with ours": "them" names the step, not "ours" (was compare_ours).
"""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


def test_a_schedule_word_between_two_steps_keeps_them_apart():
    _, res = translated("Scrape competitor prices nightly, compare them with ours, then alert the pricing team.")
    assert chain(res.dsl) == ["scrape_competitor_prices", "compare_competitor_prices", "alert_pricing_team"]
    assert [s["cron"] for s in res.proposals["schedules"]] == ["0 0 * * *"]


@pytest.mark.parametrize(
    "text",
    [
        "Run this every night at 2am, export the table and archive it.",
        "Run this every night at 2am: export the table and archive it.",
    ],
)
def test_run_this_every_is_the_workflows_schedule(text):
    _, res = translated(text)
    assert [s["cron"] for s in res.proposals["schedules"]] == ["0 2 * * *"]
    assert chain(res.dsl) == ["export_table", "archive_table"]


def test_this_before_a_day_is_still_no_schedule():
    _, res = translated("Check this Monday's orders.")
    assert res.proposals["schedules"] == []


def test_named_sources_joined_by_and_are_one_step():
    _, res = translated(
        "Pull last week's ad spend from Google Ads and Meta, merge them into one table, and email the report."
    )
    steps = chain(res.dsl)
    assert steps[0] == "pull_week_ad_spend" and len(steps) == 3 and "pull_meta" not in res.dsl
    _, res = translated("Pull the orders from Shopify and email the team.")  # a lower-case step after: two steps
    assert chain(res.dsl) == ["pull_orders_shopify", "email_team"]
