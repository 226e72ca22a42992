"""Parallel steps: the failure of one after "If both succeed" (the join's other outcome), and one step over
several named sources "in parallel" (a branch per source, named by it).

"Reserve the stock and charge the card at the same time. If both succeed, ship the order …. If the
charge fails, release the stock and tell the customer." checked ``charge_success`` after the shipping
(a value no step sets, on the path of a run whose charge worked): the failure of one of the parallel
steps is the join's ``any_failed`` branch.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, ok, failed",
    [
        (
            "When an order is placed, reserve the stock and charge the card at the same time. If both succeed, "
            "ship the order and email the tracking number. If the charge fails, release the stock and tell the "
            "customer.",
            "ship_order",
            "release_stock",
        ),
        (
            "Reserve the stock and charge the card in parallel. If both succeed, ship the order. If the payment "
            "fails, cancel the order.",
            "ship_order",
            "cancel_order",
        ),
        (
            "Run the unit tests and the linter in parallel. If both pass, deploy. If the tests fail, email the "
            "developer.",
            "deploy_results",
            "email_developer",
        ),
    ],
)
def test_one_parallel_step_failing_is_the_joins_failure_branch(text, ok, failed):
    dsl = offline_translation(text).dsl
    assert f"]->{ok}:all_ok;" in dsl and f"]->{failed}:any_failed;" in dsl, dsl
    assert "_success==" not in dsl


@pytest.mark.parametrize(
    "text, branches",
    [
        (
            "Once a week, pull the campaign stats from Google Ads and Meta Ads in parallel, merge them, and have "
            "the LLM write a short summary for the marketing lead.",
            ["pull_campaign_stats_google", "pull_campaign_stats_meta"],  # was one step, pull_campaign_stats
        ),
        (
            "Simultaneously scrape prices from Amazon, eBay and Walmart; then compare.",
            ["scrape_prices_amazon", "scrape_prices_ebay", "scrape_prices_walmart"],  # was scrape_ebay, …
        ),
        (
            "Pull the sales data from Salesforce and the marketing data from HubSpot in parallel, join them.",
            ["pull_sales_data_salesforce", "pull_marketing_data_hubspot"],
        ),
    ],
)
def test_one_step_from_several_named_sources_in_parallel_is_a_branch_per_source(text, branches):
    assert f"->[{','.join(branches)}];" in offline_translation(text).dsl


def test_one_step_from_two_named_sources_without_parallel_words_stays_one_step():
    dsl = offline_translation("Pull the spend from Google Ads and Meta.").dsl
    assert dsl == "start->pull_spend;\npull_spend->end;\n"
