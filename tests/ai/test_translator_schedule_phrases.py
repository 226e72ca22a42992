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


@pytest.mark.parametrize(
    "text, both_paths_reach",
    [
        ("If the order total exceeds 1000 euros, require a manager's approval before shipping.", "ship_step"),
        ("Receive the invoice. If it is over 5000, get the CFO's sign-off before paying it.", "pay_invoice"),
    ],
)
def test_a_step_after_before_in_a_conditional_runs_on_every_path(text, both_paths_reach):
    model, res = translated(text)
    decision = next(s for s in model.states if s.startswith("check_") or s == "receive_invoice")
    outs = [t for t in model.transitions if decision in t.sources]
    assert len(outs) == 2, res.dsl
    unconditional = [t for t in outs if not t.is_conditional]
    assert unconditional and unconditional[0].target == both_paths_reach, res.dsl  # the small order ships too


def test_before_with_an_otherwise_keeps_the_step_in_its_branch():
    _, res = translated(
        "If the draft is long, summarize it before sending it to the client; otherwise send it directly."
    )
    assert "summarize_draft->send_draft_client;" in res.dsl and "send_draft:draft_long==False" in res.dsl


@pytest.mark.parametrize(
    "text, first",
    [
        ("When a customer pays, send a receipt.", "receive_customer_payment"),
        ("When a user registers, send a welcome email.", "receive_user_registration"),
        ("When an invoice is paid, close it.", "receive_invoice"),
    ],
)
def test_an_event_verb_without_object_names_the_event(text, first):
    _, res = translated(text)
    assert chain(res.dsl)[0] == first


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Comment on the pull request.", "comment_pull_request"),  # was pull_request ("comment" was no verb)
        ("If the tests fail, comment on the PR.", "comment_pr"),
        (
            "Fetch new tweets that mention our brand, classify their sentiment with AI, and send the negative ones "
            "to the social media team.",
            "send_negative_tweets",
        ),
        ("Sort the parcels and ship the heavy ones by freight.", "ship_heavy_parcels"),
    ],
)
def test_names_of_comment_and_of_the_x_ones(text, expected):
    _, res = translated(text)
    assert f"{expected}->" in res.dsl or f"{expected};" in res.dsl, res.dsl


@pytest.mark.parametrize(
    "text, cond",
    [
        ("Compute the score; if it dropped compared with last week, open a task.", "score_dropped==True"),
        ("Check sales; if sales went down from last month, alert the team.", "sale_dropped==True"),
        (
            "Compute revenue; if revenue dropped more than 10% versus the previous day, email the director.",
            "revenue_dropped_percent>10",
        ),
    ],
)
def test_a_change_against_a_baseline_is_the_change_of_the_metric(text, cond):
    _, res = translated(text)
    assert cond in res.dsl, res.dsl


def test_a_bulk_action_on_items_picked_by_age_is_a_step_not_a_condition():
    _, res = translated("Each night, back up the database to S3 and delete backups older than 30 days.")
    assert chain(res.dsl, no_conditions=True) == ["back_up_database_s3", "delete_old_backups"]
    _, res = translated("Approve expenses under 50 dollars.")  # one item against a limit: still a condition
    assert "expenses_amount<50" in res.dsl


@pytest.mark.parametrize(
    "text, cond",
    [
        ("If a shipment is delayed by more than two days, apologise to the customer.", ">2"),
        ("If more than three errors occur, page the team.", "error_count>3"),
        ("If the order is older than a month, archive it.", "order_age_months>1"),
        ("If the delay is more than a few days, call the customer.", ':"the delay is more than a few days"'),
    ],
)
def test_number_words_compare_as_numbers_and_vague_amounts_are_judgements(text, cond):
    _, res = translated(text)
    assert cond in res.dsl, res.dsl
    assert ">two_days" not in res.dsl and ">few_days" not in res.dsl  # names no run sets
