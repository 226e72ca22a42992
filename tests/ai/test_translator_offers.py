"""An offer and its answer: "If they mention price, offer a 20% discount; if they accept, reactivate".

* "if they accept" after an offer in a branch is the offer's answer, nested in that branch (it was a
  sibling of "if they mention price", asked of every run).
* "If the customer mentions price" keeps its object ("price" is also a verb: the condition was
  ``customer_mentions`` and a step ``price_step``).
* "they" after "When a customer cancels …" is the customer (the trigger's words were not read for who
  "they" is).
"""

from __future__ import annotations

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
