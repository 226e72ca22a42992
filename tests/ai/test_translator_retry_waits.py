"""Waits between retries and steps that repeat at their own pace (s25).

* "wait an hour and try again, up to three times", "retry up to 3 times, waiting an hour between
  attempts", "retry twice, 10 minutes apart", "retry every 5 minutes, up to 4 times": the step's retry
  setting gets an even wait between tries (``backoff_s``, factor 1); the wait phrase is no step of its
  own (was wait_hour -> wait_try -> wait_up_three_times, or a step named hour_apart).
* A wait longer than a retry setting takes is capped at one hour, with a warning that says so.
* "retry every 5 minutes" and "poll its status every minute until it completes" are how a step repeats,
  not a schedule of the workflow (was a proposed 5-minute schedule); "poll the carrier API every 30
  minutes" alone still proposes the workflow's schedule.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.workflow_file import RetryPolicy
from tests.ai.translated import translated


@pytest.mark.parametrize(
    "text, step, tries, wait",
    [
        (
            "Charge the card. If the payment fails, wait an hour and try again, up to three times. "
            "If it still fails, cancel the order and email the customer.",
            "charge_card",
            3,
            3600,
        ),
        (
            "Charge the card. If it fails, retry up to 3 times, waiting 10 minutes between attempts. "
            "If it still fails, cancel the order.",
            "charge_card",
            3,
            600,
        ),
        (
            "Charge the card; retry up to three times half an hour apart. If it still fails, cancel the order.",
            "charge_card",
            3,
            1800,
        ),
        (
            "Call the API and retry every 5 minutes, up to 4 times; if it still fails, alert the team.",
            "call_api",
            4,
            300,
        ),
    ],
)
def test_a_wait_between_retries_is_the_retry_settings_even_wait(text, step, tries, wait):
    tr = offline_translation(text)
    retry = tr.bindings[step]["retry"]
    assert retry["max_attempts"] == tries + 1
    assert retry["backoff_s"] == wait and retry["backoff_factor"] == 1.0 and retry["max_backoff_s"] == wait
    policy = RetryPolicy(**retry)
    assert [policy.delay(n) for n in range(1, tries + 1)] == [wait] * tries
    assert f"{step}->" in tr.dsl and "@error" in tr.dsl
    for junk in ("wait_hour", "wait_try", "apart", "between_attempts", "up_three"):
        assert junk not in tr.dsl, tr.dsl
    assert "apart" in tr.explanation
    assert tr.proposals.get("schedules", []) == []


def test_a_retry_without_a_wait_keeps_the_default_backoff():
    tr = offline_translation("Charge the card; retry up to 3 times. If it still fails, cancel the order.")
    assert tr.bindings["charge_card"]["retry"] == {"max_attempts": 4}


def test_a_wait_longer_than_a_retry_setting_takes_is_capped_with_a_warning():
    tr = offline_translation("Fetch the report; retry it twice, 2 hours apart; if it still fails, email IT.")
    assert tr.bindings["fetch_report"]["retry"]["backoff_s"] == 3600
    RetryPolicy(**tr.bindings["fetch_report"]["retry"])
    assert any("'2 hours' between retries" in w for w in tr.warnings)


def test_polling_pace_is_not_a_schedule_but_a_monitoring_pace_is():
    _, res = translated("Start the batch job and poll its status every minute until it completes.")
    assert res.proposals["schedules"] == []
    _, res = translated("Check the website every 5 minutes. If it is down, page the on-call engineer.")
    assert [s["every"] for s in res.proposals["schedules"]] == ["5m"]
    _, res = translated(
        "Shipment tracking:\n- poll the carrier API every 30 minutes\n- when delivered, close the shipment"
    )
    assert [s["every"] for s in res.proposals["schedules"]] == ["30m"]  # no "until": each run polls once
