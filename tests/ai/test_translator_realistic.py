"""The offline translator on realistic prose (issue 16): verb_object names, explicit parallel lists with a
join deciding by all_ok / any_failed, approval and LLM steps, every described branch reaching an action,
and schedule / trigger / notification proposals in the workflow file's shapes."""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.model import END, START
from engine.dsl.validate import check

FUNCTION_WORDS = {"the", "a", "an", "to", "of", "and", "or", "for", "with", "in", "on", "it", "them", "list", "use"}


def tr(text: str):
    t = offline_translation(text)
    model, rep = check(t.dsl)
    assert not rep.errors, (t.dsl, rep.errors)
    return t, model


def states(model) -> list[str]:
    return [s for s in model.states if s not in (START, END)]


def fan_outs(model) -> list[set[str]]:
    return [set(t.targets) for t in model.transitions if t.is_fan_out]


def fan_in_conditions(model) -> dict[str, str | None]:
    return {t.targets[0]: (t.condition.text if t.condition else None) for t in model.transitions if t.is_fan_in}


def reachable_from(model, state: str) -> set[str]:
    seen, todo = set(), [state]
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        todo.extend(x for t in model.outgoing(s) for x in t.targets)
    return seen


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, wanted",
    [
        (
            "Critical alerts page the on-call engineer. Other alerts are added to the daily digest.",
            "add_to_daily_digest",
        ),
        ("Load yesterday's sales and the customer list in parallel.", "load_customer_list"),
        ("Tickets that mention refunds are sent to the billing team; the rest are closed.", "send_to_billing_team"),
        ("Fetch the invoices and the credit notes at the same time, then reconcile them.", "fetch_credit_notes"),
    ],
)
def test_names_come_from_the_clause_verb_and_head_noun(text, wanted):
    _, model = tr(text)
    assert wanted in states(model), states(model)
    for s in states(model):
        words = s.split("_")
        assert len(words) >= 2 and words[0] not in FUNCTION_WORDS and words[-1] not in FUNCTION_WORDS - {"list"}, s


def test_names_are_stable_and_unique():
    text = "Export the orders. Export the orders again for the archive. Then export the orders to S3."
    first = tr(text)[0].dsl
    assert tr(text)[0].dsl == first  # deterministic
    _, model = tr(text)
    assert len(states(model)) == len(set(states(model))) >= 3


# --- explicit parallel lists and the join's conditions ------------------------------------------


def test_enumeration_after_a_colon_fans_out_with_the_verb_and_best_keeps_its_meaning():
    _, model = tr(
        "Fit four forecasters simultaneously: an ARIMA model, a Prophet model, an exponential smoothing model and "
        "a naive baseline. Pick the best model and publish the best model's forecast if its error is below 5%."
    )
    (fan,) = fan_outs(model)
    assert len(fan) == 4 and all(s.startswith("fit_") for s in fan), fan
    assert {"fit_arima_model", "fit_naive_baseline"} <= fan
    assert any("best" in s and "model" in s for s in states(model)), states(model)


def test_both_checks_pass_or_any_fails_is_decided_on_the_fan_in():
    _, model = tr(
        "When a pull request is opened, review it for style and for security. If both reviews pass, merge it; "
        "if any review fails, request changes from the author."
    )
    (fan,) = fan_outs(model)
    assert len(fan) == 2 and all(s.startswith("review_") for s in fan), fan
    conds = fan_in_conditions(model)
    assert sorted(conds.values()) == ["all_ok", "any_failed"], conds
    merge = next(s for s, c in conds.items() if c == "all_ok")
    change = next(s for s, c in conds.items() if c == "any_failed")
    assert merge.startswith("merge") and change.startswith("request_changes"), conds


def test_both_and_runs_the_two_actions_in_parallel():
    _, model = tr("When a lead signs up, both enrich it with Clearbit and score it with the scoring model.")
    assert any(len(f) == 2 and any(s.startswith("enrich") for s in f) for f in fan_outs(model)), model.transitions


def test_an_unrelated_sequence_with_any_step_fails_keeps_its_error_paths():
    _, model = tr("Extract the data, transform it and load it. If any step fails, alert the data team.")
    assert not fan_outs(model)
    assert {t.source for t in model.transitions if t.is_error} >= {"extract_data", "load_data"}


def test_join_conditions_run_on_the_engine(inline_engine):
    """The translated DSL runs: a failing branch takes the any_failed exit of the join."""
    from engine.runner import RunOptions
    from engine.workflow_file import WorkflowSpec

    t, model = tr(
        "Check the article for plagiarism and for tone in parallel. If both checks pass, publish it; "
        "if any check fails, send it to an editor."
    )
    plag = next(s for s in states(model) if "plagiarism" in s)
    tone = next(s for s in states(model) if "tone" in s)
    conds = fan_in_conditions(model)
    editor = next(s for s, c in conds.items() if c == "any_failed")
    publish = next(s for s, c in conds.items() if c == "all_ok")

    def run(tone_function: str):
        spec = WorkflowSpec(
            name="content review",
            dsl=t.dsl,
            states={
                plag: {"action": "python", "function": "tests.ai.translator_functions:passes"},
                tone: {"action": "python", "function": f"tests.ai.translator_functions:{tone_function}"},
            },
        )
        return inline_engine.run(spec, {}, RunOptions(auto_recovery=False))

    ok = run("passes")
    assert ok.status == "completed" and publish in ok.states_visited and editor not in ok.states_visited
    bad = run("fails")
    assert editor in bad.states_visited and publish not in bad.states_visited, bad


# --- approvals and LLM steps ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, who",
    [
        (
            "When a purchase request arrives, ask the finance director to approve it. If approved, order the goods; "
            "otherwise tell the requester.",
            "finance director",
        ),
        (
            "Draft the press release, then wait for the CEO's approval. If she signs off, publish it; if not, "
            "archive the draft.",
            "ceo",
        ),
        (
            "Write the contract. Get sign-off from the legal team. If legal approves, send it to the client; "
            "otherwise revise it.",
            "legal team",
        ),
    ],
)
def test_approval_phrases_become_approval_steps_whose_answer_picks_the_branch(text, who):
    t, model = tr(text)
    approvals = {s: b for s, b in t.bindings.items() if b["action"] == "approval"}
    assert len(approvals) == 1, t.bindings
    (state, binding) = next(iter(approvals.items()))
    assert who in binding["description"].lower()
    conds = {x.condition.text for x in model.outgoing(state) if x.condition is not None}
    assert conds & {"approved==True", "approved==False"}, t.dsl
    # both answers reach an action (not straight to end)
    for x in model.outgoing(state):
        assert x.targets[0] != END, t.dsl


def test_an_approval_on_some_paths_still_pays_the_approved_and_the_small_ones():
    t, model = tr(
        "When an invoice arrives, extract the amount. Invoices over 5000 need the CFO's sign-off. "
        "Pay approved invoices and reject the rest."
    )
    pay = next(s for s in states(model) if s.startswith("pay"))
    reject = next(s for s in states(model) if s.startswith("reject"))
    approval = next(s for s, b in t.bindings.items() if b["action"] == "approval")
    assert pay in reachable_from(model, approval) and reject in reachable_from(model, approval)
    conds = [x.condition.text for x in model.transitions if x.condition is not None and x.targets[0] == pay]
    assert conds == ["approved!=False"], t.dsl  # an invoice that needed no sign-off is paid too


def test_use_the_llm_to_judge_makes_an_llm_step_the_next_decision_reads():
    t, model = tr(
        "When a review is posted, use the LLM to judge its sentiment. Negative reviews go to the support team; "
        "otherwise thank the customer."
    )
    (llm_state,) = [s for s, b in t.bindings.items() if b["action"] == "llm"]
    assert llm_state.startswith("judge") and not llm_state.startswith("use")
    into = t.bindings[llm_state]["into"]
    read = {x.condition.text for x in model.outgoing(llm_state) if x.condition is not None}
    assert read and all(c.startswith(into) for c in read), (into, t.dsl)
    assert "negative" in t.bindings[llm_state]["prompt"]


def test_classify_into_categories_branches_on_the_llm_answer():
    t, model = tr(
        "Use AI to classify every incoming email as invoice, complaint or spam. Invoices are forwarded to "
        "accounting, complaints are sent to the support lead, and spam is deleted."
    )
    (llm_state,) = [s for s, b in t.bindings.items() if b["action"] == "llm"]
    assert t.bindings[llm_state]["into"] == "category"
    conds = {x.condition.text for x in model.outgoing(llm_state) if x.condition is not None}
    assert conds == {"category=='invoice'", "category=='complaint'", "category=='spam'"}, t.dsl


def test_the_explanation_reads_back_approvals_llm_steps_and_proposals():
    t, _ = tr(
        "Every Monday at 9am, use the LLM to classify the open tickets as bug or question. Bugs go to "
        "engineering; questions are answered by support. Ask the support lead to approve the weekly summary."
    )
    assert "waits for a person" in t.explanation and "support lead" in t.explanation
    assert "which the next decision reads" in t.explanation
    assert "cron 0 9 * * 1" in t.explanation


# --- proposals -------------------------------------------------------------------------------------


def test_schedule_trigger_and_notification_proposals_have_the_workflow_file_shapes():
    from engine.automation.notify import NotificationSettings
    from engine.automation.specs import FileTriggerSpec, ScheduleSpec

    t, model = tr(
        "Every weekday at 7am, when a CSV arrives in the inbox, load it and check it for duplicates. "
        "Tell the on-call when it fails."
    )
    (sched,) = t.proposals["schedules"]
    assert ScheduleSpec.model_validate(sched).cron == "0 7 * * 1-5"
    (trig,) = t.proposals["triggers"]
    assert FileTriggerSpec.model_validate(trig).glob == "*.csv" and trig["folder"] == "data/inbox"
    (note,) = t.proposals["notifications"]
    assert NotificationSettings.model_validate(note).on == ["failed"] and note["channels"] == ["on-call"]
    # the time phrase and the failure notice are not steps
    assert not any(w in s for s in states(model) for w in ("7am", "weekday", "tell", "fails"))


@pytest.mark.parametrize(
    "phrase, key, value",
    [
        ("every 15 minutes", "every", "15m"),
        ("every day at 6:30", "cron", "30 6 * * *"),
        ("every Friday at 4pm", "cron", "0 16 * * 5"),
        ("hourly", "every", "1h"),
        ("on the 1st of each month", "cron", "0 0 1 * *"),
    ],
)
def test_time_phrases(phrase, key, value):
    t, _ = tr(f"{phrase}, pull the exchange rates and store them.")
    (sched,) = t.proposals["schedules"]
    assert sched[key] == value


def test_a_daily_digest_is_not_a_schedule():
    t, _ = tr("Low-priority alerts are added to the daily digest.")
    assert t.proposals["schedules"] == []


def test_webhook_trigger_proposal_references_a_secret():
    from engine.automation.specs import WebhookTriggerSpec

    t, _ = tr("When Stripe sends a payment webhook, record the payment and email the receipt.")
    (trig,) = t.proposals["triggers"]
    spec = WebhookTriggerSpec.model_validate(trig)
    assert spec.secret.startswith("{secret:") and spec.id == "stripe-hook"


def test_accepted_proposals_are_added_to_the_spec():
    from engine.ai.proposals import apply_to_spec
    from engine.workflow_file import WorkflowSpec

    t, _ = tr("Every 15 minutes poll the queue. Notify the ops channel if the job fails.")
    spec = WorkflowSpec(dsl=t.dsl, schedules=[{"id": "s1", "every": "1h"}])
    out = apply_to_spec(spec, t.proposals, {"schedules": [0], "notifications": [0]})
    assert [s.every for s in out.schedules] == ["1h", "15m"] and len({s.id for s in out.schedules}) == 2
    assert out.notifications.channels == ["ops"] and out.notifications.on == ["failed"]
    assert apply_to_spec(spec, t.proposals, {}).schedules == spec.schedules


# --- more phrasings of the same classes -------------------------------------------------------------


def test_one_verb_over_a_parallel_list_names_every_branch_with_it():
    _, model = tr("Back up the database and the file store at the same time, then send the report.")
    assert {"back_up_database", "back_up_file_store"} in fan_outs(model)


def test_a_title_before_a_colon_is_not_a_step():
    _, model = tr("Onboarding: create the Slack account, the GitHub account and the Jira account simultaneously.")
    assert {"create_slack_account", "create_github_account", "create_jira_account"} in fan_outs(model)


def test_an_llm_extracting_several_fields_is_one_llm_step():
    t, model = tr("When an invoice arrives, use AI to extract the supplier, the amount and the due date, then file it.")
    llm = [s for s, b in t.bindings.items() if b["action"] == "llm"]
    assert len(llm) == 1 and llm[0].startswith("extract_"), t.dsl


def test_asking_a_customer_for_a_review_is_not_an_approval():
    t, _ = tr("Mark the order delivered and ask the customer for a review.")
    assert not any(b["action"] == "approval" for b in t.bindings.values())


def test_the_first_arrow_segment_can_be_the_event():
    _, model = tr("Customer asks for a refund -> check the order date -> refund the card")
    assert states(model)[0] == "receive_refund"


def test_check_again_loops_back():
    _, model = tr("Check whether the shipment has arrived. If not, wait a day and check again.")
    first = states(model)[0]
    assert first in reachable_from(model, "wait_day") and first.startswith("check")


def test_participle_with_its_own_object_ends_the_name():
    _, model = tr("Fetch new tweets mentioning our brand, then store them.")
    assert "fetch_new_tweets" in states(model)


def test_adjacent_time_phrases_make_one_schedule():
    t, _ = tr("Weekly on Monday at 8am: compute the churn metrics and post them to #leadership.")
    assert [s.get("cron") for s in t.proposals["schedules"]] == ["0 8 * * 1"]


def test_two_subjects_that_both_review_run_in_parallel_and_their_approvals_join():
    _, model = tr(
        "A writer submits a draft. Then the editor and the legal team both review it. If both approve, the post "
        "is scheduled; if either rejects it, the writer revises the draft."
    )
    assert {"review_editor", "review_legal_team"} in fan_outs(model)
    conds = fan_in_conditions(model)
    assert conds.get("revise_draft") == "any_failed" and "all_ok" in conds.values(), conds


def test_an_arrival_in_the_middle_of_the_text_is_the_event_not_a_condition():
    t, model = tr("Check the bucket. When a new file appears in the landing bucket, validate its schema.")
    assert not any(x.condition is not None for x in model.transitions), t.dsl
    assert "validate_schema" in states(model)


def test_a_job_description_preamble_and_plural_weekday():
    t, model = tr("We need a weekly job (Mondays at 6am) that downloads last week's orders and emails them.")
    assert states(model)[0] == "download_last_week_orders"
    assert [s["cron"] for s in t.proposals["schedules"]] == ["0 6 * * 1"]


def test_receive_steps_get_no_proposed_call():
    t, _ = tr("When a webhook request for a new report arrives, store the report.")
    assert not any(s.startswith("receive_") for s in t.bindings)


def test_passive_approval_on_some_orders_keeps_the_threshold_and_both_answers():
    t, model = tr(
        "Purchase orders above 10k must be approved by the procurement manager. Approved orders are sent to the "
        "supplier; rejected ones are cancelled."
    )
    (approval,) = [s for s, b in t.bindings.items() if b["action"] == "approval"]
    assert "procurement manager" in t.bindings[approval]["description"]
    assert any(x.condition is not None and "10000" in x.condition.text for x in model.transitions), t.dsl
    send = next(s for s in states(model) if s.startswith("send"))
    cancel = next(s for s in states(model) if s.startswith("cancel"))
    assert {send, cancel} <= reachable_from(model, approval)


def test_a_reviewer_who_reviews_and_approves_is_an_approval():
    t, model = tr("Collect the timesheets. The finance lead reviews them and approves. If she approves, run payroll.")
    (approval,) = [s for s, b in t.bindings.items() if b["action"] == "approval"]
    assert any(x.condition is not None and x.condition.text == "approved==True" for x in model.outgoing(approval))


def test_a_parenthesised_parallel_list():
    _, model = tr("new hire -> create accounts (email, slack, jira — all at once) -> manager signs off -> ship laptop")
    assert {"create_email_account", "create_slack_account", "create_jira_account"} in fan_outs(model)


def test_two_approvers_in_parallel_join_on_each_answer():
    t, model = tr(
        "When the quarter closes, finance prepares the board pack. The CFO and the CEO must both sign off. Once "
        "they have, it is sent to the board; if either of them declines, finance revises the pack."
    )
    approvals = sorted(s for s, b in t.bindings.items() if b["action"] == "approval")
    assert len(approvals) == 2 and set(approvals) in fan_outs(model)
    conds = fan_in_conditions(model)
    yes = " and ".join(f"{s}_approved==True" for s in approvals)
    assert conds.get("send_board") is not None and all(f"{s}_approved==True" in conds["send_board"] for s in approvals)
    assert conds.get("revise_pack") is not None and " or " in conds["revise_pack"], (yes, conds)


def test_terse_opening_and_for_each_without_a_comma():
    _, model = tr("on new signup: verify email; create trial workspace + send welcome sequence (parallel)")
    assert states(model)[0] == "receive_signup" and {"create_trial_workspace", "send_welcome_sequence"} in fan_outs(
        model
    )
    t, model = tr("For each incoming lead use an LLM to score fit and intent, then assign it to a rep.")
    assert states(model)[0] == "receive_incoming_lead"
    assert any(b["action"] == "llm" for b in t.bindings.values())
