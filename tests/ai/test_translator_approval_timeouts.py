"""'If there is no answer within 2 days, escalate to the director' after an approval: the approval
waits that long (its ``timeout_s``) and the steps are its ``@error`` path, which ends there (what
follows the approval reads an answer that never came). It was a condition on ``has_answer``, a
variable no run sets, so every such run failed at that condition."""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.validate import check
from engine.workflow_file import StateBinding, WorkflowSpec

CASES = [
    (
        "When a purchase request comes in, ask the manager to approve it. If she approves, place the order. "
        "If there is no answer within 2 days, escalate to the director.",
        "get_manager_approval",
        172_800,
        "escalate_director",
    ),
    (
        "Ask the CFO to sign off on the invoice; if nobody responds within 48 hours, remind the CFO and notify "
        "finance. If approved, pay the invoice.",
        "approve_invoice",
        172_800,
        "remind_cfo",
    ),
    (
        "Have the team lead approve the expense report. If it is not approved within 3 business days, escalate "
        "it to HR. Then reimburse the employee.",
        "approve_expense_report",
        259_200,
        "escalate_report_hr",
    ),
    (
        "Send the contract to the client for approval. If the client hasn't replied after a week, send a "
        "reminder. If approved, countersign it; otherwise archive it.",
        "send_contract_client_approval",
        604_800,
        "send_reminder",
    ),
    (
        "Ask the manager to approve the refund. If she doesn't respond within 4 hours, approve it automatically.",
        "approve_refund",
        14_400,
        None,
    ),
]


@pytest.mark.parametrize(("text", "approval", "seconds", "fallback"), CASES)
def test_no_answer_within_a_time_is_the_approvals_limit_and_error_path(text, approval, seconds, fallback):
    tr = offline_translation(text)
    model, report = check(tr.dsl)
    assert not report.errors, tr.dsl
    b = tr.bindings[approval]
    assert b["action"] == "approval" and b["timeout_s"] == seconds
    StateBinding(**b)  # a binding the workflow file accepts (up to 30 days for an approval)
    errors = [t for t in model.outgoing(approval) if t.is_error]
    assert len(errors) == 1, tr.dsl
    if fallback:
        assert errors[0].target == fallback
    assert "has_answer" not in tr.dsl and "replied" not in tr.dsl and "responds" not in tr.dsl
    # the @error path ends: nothing after it reads 'approved'
    path, seen = [errors[0].target], set()
    while path:
        s = path.pop()
        if s in seen or s == "end":
            continue
        seen.add(s)
        for t in model.outgoing(s):
            assert t.condition is None or "approved" not in str(t.condition), tr.dsl
            path.extend(t.targets if t.target_is_group else [t.target])
    assert "with no answer within" in tr.explanation and "its @error path runs" in tr.explanation


def test_the_answer_decision_stays_on_the_approval_and_names_the_thing_approved():
    tr = offline_translation(CASES[3][0])
    assert "send_contract_client_approval->countersign_contract:approved==True;" in tr.dsl
    assert "send_contract_client_approval->archive_contract:approved==False;" in tr.dsl
    assert tr.bindings["send_contract_client_approval"]["description"].startswith("client approves")


def test_a_wait_longer_than_an_approval_can_wait_is_capped_with_a_note():
    tr = offline_translation(
        "Ask the board to approve the budget. If there is no answer within 6 weeks, escalate to the chair."
    )
    assert tr.bindings["approve_budget"]["timeout_s"] == 30 * 86_400
    assert any("longer than an approval can wait" in n for n in tr.warnings)


@pytest.mark.parametrize(
    "text, wait, fallback, message",
    [
        (
            "Email the customer asking for confirmation. If they don't reply within 2 days, call them.",
            172800.0,
            "call_customer",
            "Did the customer reply after 'Email the customer asking for confirmation'?",
        ),
        (
            "Send the supplier the purchase order. If the supplier doesn't respond within 3 days, escalate to "
            "the buyer. Then book the delivery.",
            259200.0,
            "escalate_buyer",
            "Did the supplier respond after 'Send the supplier the purchase order'?",
        ),
        (
            "Call the customer. If they don't get back to us within 2 hours, send an SMS.",
            7200.0,
            "send_sms",
            "Did the customer reply after 'Call the customer'?",
        ),
    ],
)
def test_a_silence_after_contacting_someone_is_a_step_that_waits_for_their_reply(text, wait, fallback, message):
    """No approval before it: the silence is about the person just contacted. A step waits for their reply
    (someone records it, yes/no) for that long; no reply in time takes its ``@error`` path, after which the
    flow goes on. It used to be a condition (``customer==False``) that nothing ever set."""
    tr = offline_translation(text)
    waits = {s: b for s, b in tr.bindings.items() if b.get("action") == "approval"}
    assert len(waits) == 1, tr.dsl
    ((state, binding),) = waits.items()
    assert state.startswith("wait_") and state.endswith("_reply")
    assert binding["timeout_s"] == wait and binding["message"] == message
    assert f"{state}->{fallback}:@error;" in tr.dsl
    assert "==False" not in tr.dsl


def test_a_silence_that_is_not_a_person_s_stays_a_condition():
    tr = offline_translation("Send the weekly report. If it doesn't arrive within 2 days, resend it.")
    assert "@error" not in tr.dsl and not any(b.get("action") == "approval" for b in tr.bindings.values())


def test_the_translated_reply_wait_runs_to_the_call_when_nobody_records_a_reply(inline_engine):
    tr = offline_translation(
        "Email the customer asking for confirmation. If they don't reply within 2 days, call them. Then close the case."
    )
    states = {k: StateBinding(**v) for k, v in tr.bindings.items()}
    states["wait_customer_reply"] = states["wait_customer_reply"].model_copy(update={"timeout_s": 0.5})
    for name in ("email_customer_asking_confirmation", "call_customer", "close_case"):
        states[name] = StateBinding(action="noop")
    spec = WorkflowSpec(name="confirmation", dsl=tr.dsl, states=states)
    res = inline_engine.wait(inline_engine.start(spec, {}), timeout=30)
    assert res.status == "completed", res.error
    assert res.states_visited[-4:] == ["wait_customer_reply", "call_customer", "close_case", "end"]


def test_the_translated_workflow_runs_and_an_unanswered_approval_escalates(inline_engine):
    tr = offline_translation(CASES[0][0])
    states = {k: StateBinding(**v) for k, v in tr.bindings.items()}
    states["get_manager_approval"] = states["get_manager_approval"].model_copy(update={"timeout_s": 0.5})
    spec = WorkflowSpec(name="purchase approval", dsl=tr.dsl, states=states)
    res = inline_engine.wait(inline_engine.start(spec, {}), timeout=30)
    assert res.status == "completed", res.error
    assert res.states_visited[-2] == "escalate_director"
