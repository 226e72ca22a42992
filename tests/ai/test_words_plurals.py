"""Plurals the suffix rules got wrong: "statuses" was "statuse", "analyses" "analyse", "news" "new" and
"series" "sery"; "people" was no plural at all, so "thank them" after "the people on the list" was a step
called ``thank_step``."""

from __future__ import annotations

import pytest

from engine.ai import _words as W
from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "plural, one",
    [
        ("orders", "order"),
        ("policies", "policy"),
        ("boxes", "box"),
        ("addresses", "address"),
        ("statuses", "status"),
        ("bonuses", "bonus"),
        ("analyses", "analysis"),
        ("crises", "crisis"),
        ("people", "person"),
        ("children", "child"),
        ("criteria", "criterion"),
        ("causes", "cause"),
        ("purchases", "purchase"),
    ],
)
def test_a_plural_gives_its_singular(plural, one):
    assert W.singular(plural) == one


@pytest.mark.parametrize("word", ["news", "series", "species", "status", "analysis", "days", "hours", "process"])
def test_a_word_that_is_no_plural_or_a_quantity_is_kept(word):
    assert W.singular(word) == word


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Check the statuses of the orders. If the statuses are all shipped, email the customer.", "status_shipped"),
        ("Run the analyses in parallel: sales, churn and costs. Then combine them.", "run_sales_analysis"),
        ("Invite the people on the list, then thank them.", "->thank_people;"),
        ("Read the news, then summarise it.", "->summarise_news;"),
    ],
)
def test_names_and_conditions_use_the_right_singular(text, expected):
    dsl = offline_translation(text).dsl
    assert expected in dsl, dsl
    assert "statuse_" not in dsl and "analyse_" not in dsl and "thank_step" not in dsl
