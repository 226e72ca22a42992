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


@pytest.mark.parametrize(
    "text, step, failed, worked",
    [
        (
            "Fetch the rates. If it fails, email the admin; otherwise compute the prices.",
            "fetch_rates",
            "email_admin",
            "compute_prices",
        ),
        (
            "Run the nightly ETL. Should it fail, page whoever is on call, otherwise refresh the dashboards and "
            "post a message in #data.",
            "run_etl",
            "page_whoever_call",
            "refresh_dashboards",
        ),
    ],
)
def test_if_it_fails_with_an_otherwise_is_the_steps_two_outcomes_not_a_run_notice(text, step, failed, worked):
    """ "If it fails, email the admin" was taken as a notice for failed runs (removed from the steps), so
    the fallback vanished and "otherwise compute the prices" became the step's @error path."""
    tr = offline_translation(text)
    var = f"{step.split('_')[-1]}_success"
    assert f"{step}->{failed}:{var}==False;" in tr.dsl and f"{step}->{worked}:{var}==True;" in tr.dsl, tr.dsl
    assert not tr.proposals.get("notifications")


def test_if_it_fails_alone_is_still_a_notice_for_failed_runs():
    tr = offline_translation("Run the nightly ETL. If it fails, page the on-call engineer.")
    assert tr.dsl == "start->run_etl;\nrun_etl->end;\n"
    assert tr.proposals["notifications"] == [{"channels": ["on-call-engineer"], "on": ["failed"]}]
