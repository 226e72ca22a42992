"""A rejection read after the steps that follow the approval ("get the manager's approval and then publish
it. If she rejects it, …") branches off at the approval, so nothing rejected is published (was a decision
after the publishing); "revise it and ask again" goes back to that approval (was a step ask_report)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def test_a_rejection_after_later_steps_branches_off_at_the_approval_and_asks_again():
    model, r = translated(
        "Generate the monthly report, get the manager's approval and then publish it. "
        "If she rejects it, revise the report and ask again."
    )
    outs = {t.targets[0]: t for t in model.transitions if t.sources == ("get_manager_approval",)}
    assert set(outs) == {"publish_monthly_report", "revise_report"}, r.dsl
    assert outs["revise_report"].condition.text == "approved==False", r.dsl
    assert outs["publish_monthly_report"].condition is None, r.dsl
    assert "revise_report->get_manager_approval;" in r.dsl, r.dsl


@pytest.mark.parametrize(
    "again", ["ask her again", "resubmit it", "send it back for approval", "ask for approval again"]
)
def test_asking_again_goes_back_to_the_approval(again):
    _, r = translated(f"Get the manager's approval. If she rejects it, revise the report and {again}.")
    assert "revise_report->get_manager_approval;" in r.dsl, r.dsl


def test_an_answer_read_as_approved_still_follows_the_last_step():
    _, r = translated("Get the manager's approval, then publish the report. If approved, notify the team.")
    assert "publish_report->notify_team:approved==True;" in r.dsl, r.dsl


@pytest.mark.parametrize(
    "text",
    [
        "Send the draft to the manager; she can approve or reject it. If approved, publish it.",
        "Send the draft to the manager, who approves it. If approved, publish it.",
        "Send the draft to the manager. She approves it. If approved, publish it.",
        "Send the draft to the manager. The manager approves or rejects it. If approved, publish it.",
    ],
)
def test_the_person_just_named_approving_is_an_approval_step(text):
    """ "approve or reject it" is one approval with its two answers (was a step approve_reject and a
    publish_reject), and "she" / ", who" right after the manager is the manager."""
    model, r = translated(text)
    assert r.approvals == {"get_manager_approval": "manager"}, r.dsl
    assert "get_manager_approval->publish_draft:approved==True;" in r.dsl, r.dsl
    assert "reject" not in r.dsl, r.dsl


def test_approves_or_rejects_with_its_own_subject_names_what_is_approved():
    _, r = translated("The manager approves or rejects the draft. If approved, publish it.")
    assert r.approvals == {"approve_draft": "manager"} and "publish_draft" in r.dsl, r.dsl
