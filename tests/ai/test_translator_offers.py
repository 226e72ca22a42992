"""An offer and its answer, a lead's LLM score, and the event a description starts with.

* "if they accept" after an offer in a branch is the offer's answer, nested in that branch (it was a
  sibling of "if they mention price", asked of every run).
* "If the customer mentions price" keeps its object ("price" is also a verb: the condition was
  ``customer_mentions`` and a step ``price_step``).
* "they" after "When a customer cancels …" is the customer (the trigger's words were not read for who
  "they" is).
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


def test_the_answer_to_an_offer_is_decided_after_the_offer():
    dsl = offline_translation(
        "If the customer mentions price, offer a 20% discount; if they accept, reactivate the subscription."
    ).dsl
    assert "check_customer_mentions_price->offer_20_discount:customer_mentions_price==True;" in dsl
    assert "offer_20_discount->reactivate_subscription:customer_accepted==True;" in dsl
    assert "check_customer_mentions_price->reactivate_subscription" not in dsl
    assert "price_step" not in dsl


def test_they_after_a_when_trigger_is_the_person_of_the_trigger():
    dsl = offline_translation(
        "When a customer cancels their subscription, ask them why with a short survey, stop the billing, and "
        "revoke their access at the end of the period. If they mention price, offer a 20% discount; if they "
        "accept, reactivate the subscription."
    ).dsl
    assert "->offer_20_discount:customer_mentions_price==True;" in dsl  # was access_mention_price
    assert "offer_20_discount->reactivate_subscription:customer_accepted==True;" in dsl


def test_a_lead_scoring_eight_or_more_compares_the_llms_score():
    tr = offline_translation(
        "A lead fills in the demo form. Enrich the lead with Clearbit, score it with the LLM from 1 to 10, and "
        "add it to HubSpot. Leads scoring 8 or more are assigned to a sales rep right away; the rest go into the "
        "nurture sequence."
    )
    dsl = tr.dsl
    assert dsl.startswith("start->receive_demo_form;")  # the event that starts a run (was a step fill_demo_form)
    assert "add_hubspot->assign_to_sales_rep:score>=8;" in dsl  # was lead_scoring_value>=8
    assert "add_hubspot->route_nurture_sequence;" in dsl  # was score_goes_nurture_sequence
    assert tr.bindings["score_lead"]["into"] == "score"


@pytest.mark.parametrize(
    "text, first",
    [
        ("A new order is placed. Ship it.", "receive_new_order"),
        ("A customer fills in the contact form. Reply within a day.", "receive_contact_form"),
        ("A manager reviews the report. Then publish it.", "review_report"),  # staff: a step, not an event
    ],
)
def test_a_first_sentence_about_something_that_happens_is_the_trigger(text, first):
    assert offline_translation(text).dsl.startswith(f"start->{first};")


def test_a_participle_names_the_measure_compared():
    assert "order_total>500" in offline_translation("Orders totaling over 500 need a manager's approval.").dsl
