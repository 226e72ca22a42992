"""A delay that leads a sentence is a wait step; "retry the next day" is a retry with its wait.

* "Send the invoice. After 30 days, send a reminder." sent the reminder at once (the delay was dropped
  with the "After …," lead); "30 days later, …" too. Both now wait first (``wait_30_days``).
* "If the charge fails, retry the next day, up to 3 times" read "the next day" as the step to retry and
  set no wait; "retry tomorrow" made a step ``retry_tomorrow``. Both are the step's retries, with the
  longest wait a retry setting takes and a note that says so.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text",
    ["Send the invoice. After 30 days, send a reminder.", "Send the invoice. 30 days later, send a reminder."],
)
def test_a_leading_delay_is_a_wait_before_the_step(text):
    dsl = offline_translation(text).dsl
    assert "send_invoice->wait_30_days;" in dsl and "wait_30_days->send_reminder;" in dsl


def test_a_lead_after_an_event_is_no_wait():
    dsl = offline_translation("Review the draft. After the review, publish it.").dsl
    assert "wait" not in dsl


@pytest.mark.parametrize(
    "text",
    [
        "Charge the customer. If the charge fails, retry the next day, up to 3 times, then cancel the subscription.",
        "Charge the customer. If the charge fails, retry tomorrow, up to 3 times, then cancel the subscription.",
    ],
)
def test_retry_the_next_day_is_the_steps_retry_with_the_longest_wait(text):
    tr = offline_translation(text)
    retry = tr.bindings["charge_customer"]["retry"]
    assert retry["max_attempts"] == 4 and retry["backoff_s"] == 3600.0
    assert any("a day" in w and "wait step" in w for w in tr.warnings)
    assert "charge_customer->cancel_subscription:@error;" in tr.dsl and "tomorrow" not in tr.dsl
