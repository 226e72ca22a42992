"""Informal prose, as typed in a chat: "so basically when someone submits the onboarding form we need to
create their accounts (google, slack, jira), order the laptop, and let their manager know. if the laptop
is over budget the manager has to ok it first".

It was read as steps submit_onboarding_form_need, submit_slack, submit_jira, … and its last sentence was
lost: "so basically" is a filler; "when … we need to …" ends the event where "we need to" starts; a list
in brackets is part of its step; "if X is over budget the manager has to ok it" has its condition end
where the person starts; "over budget" is a state, not a comparison with a value named budget.
"""

from __future__ import annotations

from engine.ai.translator import offline_translation


def test_an_informal_description_keeps_its_trigger_steps_and_last_sentence():
    tr = offline_translation(
        "so basically when someone submits the onboarding form we need to create their accounts (google, slack, "
        "jira), order the laptop, and let their manager know. if the laptop is over budget the manager has to "
        "ok it first"
    )
    dsl = tr.dsl
    assert dsl.startswith("start->receive_onboarding_form;\nreceive_onboarding_form->create_accounts;")
    assert "create_accounts->order_laptop;" in dsl and "order_laptop->let_manager_know;" in dsl
    assert "->get_manager_approval:laptop_over_budget==True;" in dsl
    assert tr.bindings["get_manager_approval"]["action"] == "approval"
    assert "slack" not in dsl and "jira" not in dsl and "need" not in dsl


def test_a_condition_and_a_second_condition_stay_together():
    dsl = offline_translation("If the amount is high and if the customer is new, call the customer.").dsl
    assert "call_customer:amount_high_customer_new==True;" in dsl
