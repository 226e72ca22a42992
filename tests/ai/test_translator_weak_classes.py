"""Three classes the offline translator used to get wrong (issue 16 follow-up), each in several phrasings:

- nested retries: "retry up to N times, and if it still fails, <fallback>" — also inside a branch — is
  the step's retry setting plus an ``@error`` path to the fallback, not a ``retry_…`` state or a
  numeric condition;
- tag phrases: ", tagged urgent" describes the previous object (not a step), and "mark it as spam" names
  a step without making the label the thing "it" means next;
- a lone verb after a join ("… in parallel, then merge") works on the branches' results, not on the
  last branch's object.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.model import END, START
from engine.dsl.validate import check
from engine.workflow_file import StateBinding


def tr(text: str):
    t = offline_translation(text)
    model, rep = check(t.dsl)
    assert not rep.errors, (t.dsl, rep.errors)
    return t, model


def states(model) -> list[str]:
    return [s for s in model.states if s not in (START, END)]


def error_paths(model) -> set[tuple[str, str]]:
    return {(t.source, x) for t in model.transitions if t.is_error for x in t.targets}


@pytest.mark.parametrize(
    ("text", "retried", "fallback", "tries"),
    [
        (
            "Receive the order and check stock. If the item is in stock, charge the card; if the charge fails, "
            "retry up to 3 times, and if it still fails, cancel the order. Otherwise put the order on backorder.",
            "charge_card",
            "cancel_order",
            3,
        ),
        (
            "Send the invoice to the customer. If the email bounces, retry up to three times before alerting the "
            "account manager. Then log the invoice.",
            "send_invoice_customer",
            "alert_account_manager",
            3,
        ),
        (
            "Upload the report to the portal. Retry it up to 4 times. If all retries fail, email the report to "
            "the client instead.",
            "upload_report_portal",
            "email_report_client",
            4,
        ),
        (
            "Call the payment gateway; retry twice, otherwise mark the order as failed and notify support.",
            "call_payment_gateway",
            "mark_order_as_failed",
            2,
        ),
        (
            "Deploy the build. On failure, retry up to 2 times and then roll back and page the on-call engineer.",
            "deploy_build",
            "roll_back",
            2,
        ),
        (
            "Fetch the exchange rates. If the request times out, try again once more; if that fails too, use the "
            "cached rates.",
            "fetch_exchange_rates",
            "switch_to_cached_rates",
            1,
        ),
    ],
)
def test_retry_then_fallback_is_the_steps_retry_setting_and_its_error_path(text, retried, fallback, tries):
    t, model = tr(text)
    assert (retried, fallback) in error_paths(model), t.dsl
    assert not any(s.startswith(("retry", "try_")) or s.endswith("_step") for s in states(model)), t.dsl
    assert not any(t_.condition is not None and "times" in t_.condition.text for t_ in model.transitions), t.dsl
    binding = StateBinding.model_validate(t.bindings[retried])
    assert binding.retry is not None and binding.retry.max_attempts == tries + 1
    assert f"'{retried}' is retried up to {tries} time" in t.explanation


def test_a_retry_inside_a_branch_keeps_the_other_branch_and_a_terminal_fallback_ends_there():
    t, model = tr(
        "Validate the payment request. If it is valid, charge the card, retrying at most twice, and if that still "
        "fails, cancel the order. Otherwise reject the request. Finally send the receipt."
    )
    assert ("charge_card", "cancel_order") in error_paths(model), t.dsl
    assert {t_.targets[0] for t_ in model.outgoing("cancel_order")} == {END}, t.dsl
    assert any("reject" in s for s in states(model)), t.dsl
    decision = [t_ for t_ in model.outgoing("validate_payment_request") if t_.is_conditional]
    assert {t_.targets[0] for t_ in decision} >= {"charge_card"}, t.dsl


def test_a_fallback_that_does_not_end_the_run_rejoins_the_flow():
    t, model = tr(
        "Sync the contacts with the CRM; if the sync fails, retry up to 3 times and if it keeps failing, "
        "notify the sales ops team. Then update the dashboard."
    )
    assert ("sync_contacts", "notify_sales_ops_team") in error_paths(model), t.dsl
    assert [x.targets[0] for x in model.outgoing("notify_sales_ops_team")] == ["update_dashboard"], t.dsl


@pytest.mark.parametrize(
    ("text", "must_have", "must_not_contain"),
    [
        (
            "Create an incident, tagged sev1, and page the on-call engineer.",
            ["create_incident", "page_on_call_engineer"],
            "tagged",
        ),
        (
            "Save the customer note, labelled as VIP, then email the account manager.",
            ["save_customer_note", "email_account_manager"],
            "labelled",
        ),
        (
            "File the bug report, flagged with the release number, and assign it to the triage team.",
            ["file_bug_report"],
            "flagged",
        ),
    ],
)
def test_a_tag_phrase_describes_the_previous_object_and_is_not_a_step(text, must_have, must_not_contain):
    t, model = tr(text)
    names = states(model)
    assert set(must_have) <= set(names), t.dsl
    assert not any(must_not_contain in s for s in names), t.dsl
    assert len(names) == 2, t.dsl


def test_mark_it_as_a_label_names_the_step_and_it_still_means_the_thing():
    t, model = tr(
        "Read the support message. If it looks like spam, mark it as spam and delete the message; otherwise "
        "label it as a question and answer it."
    )
    names = states(model)
    assert {"mark_as_spam", "label_as_question"} <= set(names), t.dsl
    assert "answer_support_message" in names or "answer_message" in names, t.dsl
    assert not any(s.endswith(("_spam", "_question")) and not s.startswith(("mark", "label")) for s in names)


def test_tag_it_as_a_value_and_another_step_are_two_steps_not_categories():
    t, model = tr(
        "Review the timesheet. If hours are missing, tag it as incomplete and return it to the employee; "
        "otherwise approve the timesheet."
    )
    names = states(model)
    assert "tag_as_incomplete" in names and any(s.startswith("return_") for s in names), t.dsl
    assert not any(s.startswith("tag_") and "return" in s for s in names), t.dsl


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("Pull the sales figures and the refund figures in parallel, then reconcile. Then email the CFO.", "reconcile"),
        ("Simultaneously scrape prices from Amazon, eBay and Walmart; then compare.", "compare"),
        ("Collect the survey answers and the support tickets at the same time. After that, summarise.", "summarise"),
        ("in parallel: fetch weather, fetch traffic -> combine -> post to slack", "combine"),
    ],
)
def test_a_lone_verb_after_a_join_works_on_the_results(text, verb):
    t, model = tr(text)
    fan_ins = [x for x in model.transitions if x.is_fan_in]
    assert fan_ins, t.dsl
    assert fan_ins[0].targets[0] == f"{verb}_results", t.dsl


def test_the_retry_reaches_the_saved_workflow_from_the_describe_flow(store, monkeypatch):
    from engine.workbench import ai as wb_ai

    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "WORKBENCH_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    tr_ = wb_ai.translate(  # offline, on the test store
        "Charge the card. If the charge fails, retry up to 3 times, and if it still fails, cancel the order.",
        store=store,
    )
    spec = wb_ai.spec_from_translation(tr_, "Payments")
    assert spec.states["charge_card"].retry is not None and spec.states["charge_card"].retry.max_attempts == 4
    assert any(t.is_error and t.targets == ("cancel_order",) for t in spec.model.transitions)


def test_a_retry_after_a_delay_is_not_a_retry_count():
    t, model = tr("Send the reminder. If nobody answers, retry 2 days later. Then close the case.")
    assert not any(b.get("retry") for b in t.bindings.values()), t.bindings
    assert "close_case" in states(model)


def test_use_x_names_the_step_by_its_purpose_or_as_a_switch_never_use_():
    t, model = tr("Use the standard template to draft the contract. Then send it to legal.")
    assert states(model)[0] == "draft_contract", t.dsl
    t, model = tr("Pull the prices; if the pull fails, retry twice, and if it still fails, use yesterday's prices.")
    assert ("pull_prices", "switch_to_yesterday_prices") in error_paths(model), t.dsl
    assert not any(s.startswith("use_") for s in states(model))
