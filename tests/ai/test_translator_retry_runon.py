"""Several retry phrases in one sentence, and "then in parallel, …" in the middle of a sentence.

* A sentence with many retry phrases ("load A, retry it twice, then load B, retry it 3 times, …") is
  read phrase by phrase in one pass: each step gets its own retry count, and the text the reader
  rewrites grows with the sentence's length (it re-read the whole rest after every phrase: 20,000
  characters of such a sentence took 8–13 s here, now 0.2 s).
* "Fetch the rates, then in parallel, notify sales and update the CRM" runs the two after the fetch
  in parallel (was read as a sequence), also right after a retry phrase.
* A fallback that stands in for what failed ("use yesterday's file, then compute the prices") ends at
  "then"; "try again after 10 minutes, up to 3 times" is a retry; "Otherwise, …" after a retried
  step's fallback is its success path; a fallback in brackets is the step's error path.
"""

from __future__ import annotations

import pytest

from engine.ai.offline_translator.builder import Builder
from engine.ai.translator import offline_translation


def _retries(text: str) -> dict[str, int]:
    tr = offline_translation(text)
    return {name: b["retry"]["max_attempts"] - 1 for name, b in tr.bindings.items() if b.get("retry")}


def test_each_retry_phrase_of_a_run_on_sentence_is_set_on_its_own_step():
    text = (
        "Load the orders, retry it twice, then load the refunds, retry it 3 times, then load the invoices, "
        "retry it once, if it still fails, email the admin."
    )
    assert _retries(text) == {"load_orders": 2, "load_refunds": 3, "load_invoices": 1}
    dsl = offline_translation(text).dsl
    assert "load_invoices->email_admin:@error;" in dsl
    assert "load_orders->load_refunds;" in dsl and "load_refunds->load_invoices;" in dsl


def test_the_text_rewritten_grows_with_the_sentence_not_its_square(monkeypatch):
    """Counts the characters the reader rewrites (every clause passes through ``_rewrite`` once per read):
    with 150 retry phrases in one sentence the old reader rewrote each rest again, ~75 times the text."""
    rewritten = []
    original = Builder._rewrite

    def counting(self, s):
        rewritten.append(len(s))
        return original(self, s)

    monkeypatch.setattr(Builder, "_rewrite", counting)
    text = "Fetch the rates, " + "retry it 3 times, then load them, " * 150
    tr = offline_translation(text)
    assert tr.dsl.startswith("start->fetch_rates;")
    assert sum(rewritten) < 4 * len(text), (sum(rewritten), len(text))


@pytest.mark.parametrize(
    "text, first, branches, after",
    [
        ("Fetch the rates, then in parallel, notify sales and update the CRM.", "fetch_rates", 2, None),
        (
            "Fetch the rates and then at the same time notify sales and update the CRM, then archive the file.",
            "fetch_rates",
            2,
            "archive_file",
        ),
        (
            "Fetch the rates, retry it twice, then simultaneously notify sales, update the CRM and email the boss; "
            "finally archive the file.",
            "fetch_rates",
            3,
            "archive_file",
        ),
    ],
)
def test_then_in_parallel_mid_sentence_runs_the_work_after_it_in_parallel(text, first, branches, after):
    dsl = offline_translation(text).dsl
    fan_out = next(line for line in dsl.splitlines() if line.startswith(f"{first}->["))
    names = fan_out.split("[", 1)[1].split("]", 1)[0].split(",")
    assert len(names) == branches and "notify_sales" in names and "update_crm" in names
    if after is not None:
        assert f"[{','.join(names)}]->{after};" in dsl


@pytest.mark.parametrize(
    "text, step, fallback, after",
    [
        (
            "Fetch the rates from the API; if the API is down, use yesterday's file, then compute the prices.",
            "fetch_rates_api",
            "switch_to_yesterday_file",
            "compute_prices",
        ),
        (
            "Load the file. If that fails, use yesterday's copy, then email the team.",
            "load_file",
            "switch_to_yesterday_copy",
            "email_team",
        ),
        (
            "Download the catalogue; otherwise fall back to the cache, and then rebuild the index.",
            "download_catalogue",
            "switch_to_cache",
            "rebuild_index",
        ),
    ],
)
def test_what_follows_a_stand_in_fallback_happens_either_way(text, step, fallback, after):
    """A fallback that stands in for what failed (another source of the same thing) ends at "then": the
    step after it runs whether the first source worked or not (it ran only after the fallback)."""
    dsl = offline_translation(text).dsl
    assert f"{step}->{fallback}:@error;" in dsl
    assert f"{step}->{after};" in dsl and f"{fallback}->{after};" in dsl


def test_what_follows_a_fallback_that_handles_the_failure_stays_on_its_path():
    """ "cancel the order, then email the customer" is what is done about the failure, not what comes next."""
    dsl = offline_translation("Charge the card; if that fails, cancel the order, then email the customer.").dsl
    assert "charge_card->cancel_order:@error;" in dsl and "cancel_order->email_customer;" in dsl
    assert "charge_card->email_customer;" not in dsl


@pytest.mark.parametrize(
    "text, step, tries, wait",
    [
        (
            "Download the sales report from the portal. If the download fails, try again after 10 minutes, "
            "up to 3 times, and then alert the ops team.",
            "download_sales_report_portal",
            3,
            600,
        ),
        ("Call the API; if it times out, retry in 5 minutes, at most twice.", "call_api", 2, 300),
        (
            "Charge the card. If the payment fails, try again an hour later, up to 3 times; if it still fails, "
            "cancel the order.",
            "charge_card",
            3,
            3600,
        ),
    ],
)
def test_a_retry_after_a_wait_is_the_steps_retry_setting(text, step, tries, wait):
    """ "try again after 10 minutes, up to 3 times" was read as steps try_step and up_step."""
    tr = offline_translation(text)
    retry = tr.bindings[step]["retry"]
    assert retry["max_attempts"] == tries + 1 and retry["backoff_s"] == wait
    assert "try_step" not in tr.dsl and "up_step" not in tr.dsl


def test_otherwise_after_a_retried_steps_fallback_is_what_happens_when_it_worked():
    text = (
        "Every morning, download the sales report from the portal. If the download fails, try again after "
        "10 minutes, up to 3 times, and then alert the ops team. Otherwise, load the report into the warehouse "
        "and refresh the dashboard."
    )
    dsl = offline_translation(text).dsl
    step = "download_sales_report_portal"
    assert f"{step}->alert_ops_team:@error;" in dsl and "alert_ops_team->end;" in dsl
    assert f"{step}->load_report_warehouse;" in dsl and "alert_ops_team->load_report_warehouse" not in dsl


@pytest.mark.parametrize(
    "text",
    [
        "Load the orders (if that fails, use yesterday's export) and then load the rates (if that fails, use "
        "the cached rates). Then email the team.",
        "Load the orders (falling back to yesterday's export if that fails), then load the rates (otherwise use "
        "the cached rates), then email the team.",
    ],
)
def test_a_fallback_in_brackets_is_the_steps_error_path(text):
    """Read as words of the step before ("load_orders_fails") or as a step of the main path."""
    dsl = offline_translation(text).dsl
    assert "load_orders->switch_to_yesterday_export:@error;" in dsl
    assert "load_rates->switch_to_cached_rates:@error;" in dsl
    assert "load_orders->load_rates;" in dsl and "load_rates->email_team;" in dsl
    assert "fails" not in dsl
