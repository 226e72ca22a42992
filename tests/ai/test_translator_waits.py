"""Waits in prose become wait steps (a durable timer, action ``wait``): "after 30 days", "wait three
days", and a poll's interval ("check the API every 30 minutes until …") waits between checks instead of
calling again at once."""

from __future__ import annotations

import pytest

from engine.ai.offline_translator.retries import duration_seconds, wait_step_seconds
from engine.ai.translator import offline_translation, propose_bindings
from engine.dsl.parser import parse
from engine.workflow_file import WorkflowSpec


def _edges(dsl: str) -> set[tuple[str, str, str | None]]:
    model = parse(dsl)
    return {(t.source, t.target, t.condition.text if t.condition else None) for t in model.transitions}


def test_a_poll_with_an_interval_waits_between_checks():
    t = offline_translation(
        "Check the carrier API every 30 minutes until the parcel is delivered, then email the customer."
    )
    edges = _edges(t.dsl)
    assert ("check_carrier_api", "wait_30_minutes", "parcel_delivered==False") in edges
    assert ("wait_30_minutes", "check_carrier_api", None) in edges
    assert ("check_carrier_api", "check_carrier_api", "parcel_delivered==False") not in edges
    assert t.bindings["wait_30_minutes"]["action"] == "wait" and t.bindings["wait_30_minutes"]["wait_s"] == 1800
    assert "pauses the run for 30 min" in t.explanation
    WorkflowSpec(dsl=t.dsl, states=t.bindings)  # the proposal is a valid workflow as it stands


def test_a_poll_without_an_interval_keeps_its_loop():
    t = offline_translation("Poll the job until it is finished. Download the output.")
    assert ("poll_job", "poll_job", "job_complete==False") in _edges(t.dsl)
    assert not [b for b in t.bindings.values() if b.get("action") == "wait"]


@pytest.mark.parametrize(
    "text, state, seconds",
    [
        ("Send the invoice. After 30 days, send a reminder.", "wait_30_days", 30 * 86_400),
        ("Send the offer, wait three days and follow up.", "wait_three_days", 3 * 86_400),
        ("Wait 2 hours, then check the stock.", "wait_2_hours", 7_200),
        ("Wait a month, then renew the contract.", "wait_month", 30 * 86_400),
    ],
)
def test_a_wait_in_the_prose_is_a_wait_step(text, state, seconds):
    t = offline_translation(text)
    assert t.bindings[state] == {
        "action": "wait",
        "wait_s": float(seconds),
        "description": t.bindings[state]["description"],
    }
    assert "survives restarts" in t.bindings[state]["description"]
    WorkflowSpec(dsl=t.dsl, states=t.bindings)


def test_a_model_draft_step_named_as_a_wait_gets_the_timer():
    model = parse("start->send_offer; send_offer->wait_2_days; wait_2_days->follow_up; follow_up->end;")
    bindings = propose_bindings(model)
    assert bindings["wait_2_days"]["action"] == "wait" and bindings["wait_2_days"]["wait_s"] == 172_800
    assert "send_offer" not in bindings and "follow_up" not in bindings


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("wait 30 days", 2_592_000),
        ("pause for two hours", 7_200),
        ("Wait 10 minutes.", 600),
        ("hold off a week", 604_800),
        ("wait for the approval", None),  # a person, not a time
        ("wait until the file arrives", None),
        ("send the reminder", None),
    ],
)
def test_wait_step_seconds(text, seconds):
    assert wait_step_seconds(text) == seconds


def test_months_are_not_minutes():
    assert duration_seconds("2 months") == 60 * 86_400
    assert duration_seconds("10 minutes") == 600 and duration_seconds("5 mins") == 300


@pytest.mark.parametrize(
    "text, wait, limit, fallback",
    [
        (
            "Check the carrier API every 30 minutes until the parcel is delivered; give up after 2 hours and tell "
            "support.",
            "wait_30_minutes",
            7_200,
            "tell_support",
        ),
        (
            "Poll the payment provider every 5 minutes until the payment clears. If it has not cleared after 2 "
            "hours, cancel the order and notify the customer.",
            "wait_5_minutes",
            7_200,
            "cancel_order",
        ),
        (
            "Check the inbox every 10 minutes until the file has arrived. If it still hasn't arrived within 3 hours, "
            "alert the data team.",
            "wait_10_minutes",
            10_800,
            "alert_data_team",
        ),
        (
            "Check the job status every minute until it finishes, for up to an hour. Then download the results.",
            "wait_1_minute",
            3_600,
            None,
        ),
    ],
)
def test_a_poll_gives_up_after_its_limit(text, wait, limit, fallback):
    t = offline_translation(text)
    assert t.bindings[wait]["give_up_after_s"] == limit
    errors = {(a, b) for a, b, c in _edges(t.dsl) if c == "@error"}
    assert errors == ({(wait, fallback)} if fallback else set())
    assert "gives up" in t.explanation
    assert not [n for n in t.warnings if "deadline" in n]
    WorkflowSpec(dsl=t.dsl, states=t.bindings)


def test_a_limit_without_an_interval_is_not_invented():
    t = offline_translation("Poll the job until it is finished, giving up after 2 hours. Download the output.")
    assert not [b for b in t.bindings.values() if b.get("action") == "wait"]
    assert any("says how often it checks" in n for n in t.warnings)


def test_an_approval_answer_limit_is_not_a_poll_limit():
    t = offline_translation(
        "Ask the manager to approve the purchase. If the manager has not answered within 2 days, escalate to the "
        "director."
    )
    assert not [b for b in t.bindings.values() if b.get("action") == "wait"]


@pytest.mark.parametrize(
    "text, check, cond",
    [
        (
            "Check whether the export has finished every 10 minutes until it has, then send the report.",
            "check_export",
            "export_complete==False",
        ),
        (
            "Check every 10 minutes whether the files have arrived, until they have. Then load them.",
            "check_files",
            "files_arrived==False",
        ),
        (
            "Every 10 minutes, check whether the export has finished, until it has. Then send the report.",
            "check_export",
            "export_complete==False",
        ),
        (
            "Keep checking the export status every 10 minutes until it is finished, then send the report.",
            "check_export_status",
            "export_status_complete==False",
        ),
    ],
)
def test_a_poll_said_in_other_words(text, check, cond):
    t = offline_translation(text)
    assert (check, "wait_10_minutes", cond) in _edges(t.dsl)
    assert (("wait_10_minutes", check, None)) in _edges(t.dsl)
    assert not t.proposals.get("schedules")  # the pace of a poll, not the workflow's schedule


def test_a_schedule_at_the_start_of_a_plain_sentence_stays_a_schedule():
    t = offline_translation("Every morning, check the sales dashboard and email the summary.")
    assert [s.get("cron") for s in t.proposals["schedules"]] == ["0 8 * * *"]
    assert not [b for b in t.bindings.values() if b.get("action") == "wait"]


def test_a_poll_that_gave_up_ends_there_and_a_later_limit_finds_its_poll():
    t = offline_translation(
        "Check the carrier API every 30 minutes until the parcel is delivered, then email the customer. "
        "Give up after 2 hours and tell support."
    )
    edges = _edges(t.dsl)
    assert ("wait_30_minutes", "tell_support", "@error") in edges and ("tell_support", "end", None) in edges
    assert ("tell_support", "email_customer", None) not in edges  # no "delivered" e-mail after giving up
    assert t.bindings["wait_30_minutes"]["give_up_after_s"] == 7200


def test_a_limit_with_no_poll_keeps_what_it_asks_to_do():
    t = offline_translation("Load the file. Give up after 2 hours and tell support.")
    assert ("load_file", "tell_support", None) in _edges(t.dsl)
    assert any("says how often it checks" in n for n in t.warnings)
