"""Two common phrasings read wrongly before (found trying realistic prose): "try to charge the card up to 3
times" became a decision on a made-up ``card_times`` variable, and "notify finance when it's done" a
decision on a made-up ``…_complete`` flag. N tries are the step and N - 1 retries; "when it's done"
after the steps is only their order."""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "step", "retries"),
    [
        ("Try to charge the card up to 3 times.", "charge_card", 2),
        ("Try charging the card three times.", "charge_card", 2),
        ("Attempt to sync the ledger 4 times, then alert finance.", "sync_ledger", 3),
        ("Try to reach the API up to 5 times, waiting 10 seconds between attempts.", "reach_api", 4),
    ],
)
def test_n_tries_are_the_step_and_its_retries(text, step, retries):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True)[0] == step, r.dsl
    assert r.retries == {step: retries}, (r.dsl, r.retries)


def test_the_wait_between_tries_and_the_fallback_after_the_last_are_kept():
    r = translate_offline("Try to reach the API up to 5 times, waiting 10 seconds between attempts.")
    assert r.retry_waits == {"reach_api": 10.0}
    _, r = translated(
        "Try to charge the card up to 3 times. If it still fails, cancel the order and email the customer."
    )
    assert "charge_card->cancel_order:@error;" in r.dsl and "email_customer" in r.dsl, r.dsl


def test_one_try_is_no_retry():
    r = translate_offline("Try to reach the API once.")
    assert r.retries == {} and "reach_api" in r.dsl


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        (
            "Export last week's orders to a CSV and upload it to the shared drive. Notify finance when it's done.",
            ["export_last_week_orders", "upload_orders_shared_drive", "notify_finance"],
        ),
        (
            "Load the data and clean it. Email the team once everything is finished.",
            ["load_data", "clean_data", "email_team"],
        ),
        ("Upload the report, then notify the manager when it is complete.", ["upload_report", "notify_manager"]),
    ],
)
def test_when_it_is_done_is_the_order_of_the_steps(text, steps):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == steps, r.dsl


def test_a_named_thing_being_complete_is_still_a_condition():
    _, r = translated("Notify the manager when the report is complete.")
    assert "report_complete==True" in r.dsl, r.dsl
