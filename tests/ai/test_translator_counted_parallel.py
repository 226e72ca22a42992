"""Counted groups in parallel prose (s24).

* A join that counts its branches ("When all three are finished, …", "When all 3 are done", "Once the four
  checks are complete") is a join, not a condition (was check_three_complete / step_3_complete==True).
* A parallel header whose items are short bare nouns ("Run these checks at the same time: lint, type check,
  unit tests and docs build") gives one branch per item with the head verb, even when an item looks like a
  verb and a noun ("type check"); it was a sequential chain named check_step, lint_step, check_type, …
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def _groups(dsl: str) -> list[str]:
    return [line.split("->")[1] for line in dsl.replace("\n", " ").split(";") if "->[" in line]


@pytest.mark.parametrize(
    "text",
    [
        "In parallel, create the accounts, order a laptop and book a desk. When all three are finished, "
        "send a welcome email.",
        "Create the accounts, order a laptop and book a desk at the same time. When all 3 are done, "
        "send a welcome email.",
        "Run the checks in parallel: lint, unit tests and docs. Once the three checks are complete, merge the PR.",
    ],
)
def test_a_counted_join_is_a_join_not_a_condition(text):
    model, r = translated(text)
    assert not any(t.is_conditional for t in model.transitions), r.dsl
    assert any(s.startswith(("send_welcome", "merge_pr")) for s in model.states), r.dsl
    assert not any("three" in s or "3" in s for s in model.states), r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Run these checks at the same time: lint, type check, unit tests and docs build. Then merge the PR.",
            {"run_lint", "run_type_check", "run_unit_tests", "run_docs_build"},
        ),
        (
            "Run four checks in parallel: lint, type check, unit tests and docs build. Then merge the PR.",
            {"run_lint", "run_type_check", "run_unit_tests", "run_docs_build"},
        ),
        (
            "Run the following checks in parallel: lint, type check and unit tests. Then merge the PR.",
            {"run_lint", "run_type_check", "run_unit_tests"},
        ),
    ],
)
def test_bare_items_of_a_parallel_header_are_its_branches(text, want):
    model, r = translated(text)
    groups = _groups(r.dsl)
    assert groups and set(groups[0].strip("[] ").split(",")) == want, r.dsl
    assert "merge_pr" in model.states, r.dsl


def test_items_that_are_whole_steps_stay_steps():
    model, r = translated("Do three things at once: email the customer, update the CRM and notify sales.")
    assert {"email_customer", "update_crm", "notify_sales"} <= set(model.states), r.dsl


@pytest.mark.parametrize(
    "text",
    [
        "When a customer cancels, refund the last payment, revoke their access and tag them in HubSpot; "
        "do all three in parallel. Then send a goodbye survey.",
        "Export the orders, export the payments and export the refunds. Run all three at the same time. "
        "Then send a goodbye survey.",
    ],
)
def test_an_order_to_run_the_last_steps_in_parallel_makes_them_branches(text):
    model, r = translated(text)
    groups = _groups(r.dsl)
    assert groups and len(groups[0].strip("[] ").split(",")) == 3, r.dsl
    assert not any(s in ("three_step", "all_three") for s in model.states), r.dsl
    assert "send_goodbye_survey" in model.states, r.dsl


def test_do_both_in_parallel_after_two_steps():
    _, r = translated("Email the customer and update the CRM. Do both in parallel.")
    assert _groups(r.dsl) == ["[email_customer,update_crm]"], r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Download the file. Then, in parallel:\n- email the customer\n- update the CRM\nFinally archive the file.",
            "[email_customer,update_crm]",
        ),
        ("In parallel:\n- email the customer\n- update the CRM", "[email_customer,update_crm]"),
        (
            "Do these in parallel:\n- email the customer\n- update the CRM\n- notify sales",
            "[email_customer,update_crm,notify_sales]",
        ),
    ],
)
def test_a_parallel_line_above_a_list_makes_the_list_its_branches(text, want):
    _, r = translated(text)
    assert _groups(r.dsl)[:1] == [want], r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Pull the sales data from Salesforce and the marketing data from HubSpot in parallel, join them, "
            "and build a dashboard.",
            "join_results",
        ),
        ("Compute the EU totals and the US totals at the same time, sum them, and email the result.", "sum_totals"),
    ],
)
def test_a_pronoun_right_after_mid_sentence_parallel_words_names_the_joined_results(text, want):
    """Without "then" the step after "…in parallel," was named from the last branch (join_marketing_data)."""
    model, r = translated(text)
    assert want in model.states, r.dsl
    group = _groups(r.dsl)[0]
    assert f"{group}->{want}" in r.dsl.replace(" ", ""), r.dsl
