"""A step "in parallel with" another one, and the steps before a "then" inside a branch (found with the
README's first-session example, "If it is valid, charge the card and ship it in parallel with sending a
receipt"): it ran the receipt after the shipping, named the shipping ship_card, and a branch's
"A, then B and C in parallel" put A among the branches. Also: a failed check named after the steps that
follow it ("Validate the columns and load the file. If validation fails, …") branches off at the check."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def _fan(model):
    """``(sources of the one fan-in, what runs before its fan-out)``."""
    fan_in = [t for t in model.transitions if len(t.sources) >= 2]
    fan_out = [t for t in model.transitions if len(t.targets) >= 2]
    assert len(fan_in) == 1 and len(fan_out) == 1
    return set(fan_in[0].sources), fan_out[0].sources


@pytest.mark.parametrize(
    ("text", "branches"),
    [
        ("Ship the order in parallel with sending a receipt.", {"ship_order", "send_receipt"}),
        ("Ship the order while emailing the customer.", {"ship_order", "email_customer"}),
        ("Ship the order at the same time as emailing the customer.", {"ship_order", "email_customer"}),
        ("Ship the order concurrently with emailing the customer.", {"ship_order", "email_customer"}),
        ("Ship the order alongside emailing the customer.", {"ship_order", "email_customer"}),
        ("Ship the order and, at the same time, send a receipt.", {"ship_order", "send_receipt"}),
        (
            "Load the data. Train the model in parallel with generating the report, then publish the results.",
            {"train_model", "generate_report"},
        ),
    ],
)
def test_a_step_beside_another_runs_in_parallel_with_it(text, branches):
    model, r = translated(text)
    assert _fan(model)[0] == branches, r.dsl


def test_what_follows_runs_after_the_join():
    model, r = translated("Ship the order while emailing the customer, then close the ticket.")
    fan_in = next(t for t in model.transitions if len(t.sources) >= 2)
    assert fan_in.targets == ("close_ticket",), r.dsl


def test_the_readme_example_charges_first_then_ships_beside_the_receipt():
    model, r = translated(
        "Validate the order. If it is valid, charge the card and ship it in parallel with sending a receipt; "
        "otherwise notify the customer."
    )
    branches, before = _fan(model)
    assert branches == {"ship_order", "send_receipt"}, r.dsl  # "it" is the order, not the card
    assert "validate_order->charge_card:order_valid==True;" in r.dsl, r.dsl
    assert any(t.sources == ("charge_card",) and set(t.targets) == branches for t in model.transitions), r.dsl
    assert "notify_customer" in r.dsl


@pytest.mark.parametrize(
    "text",
    [
        "If the order is valid, charge the card, then ship the order and send a receipt in parallel.",
        "If the order is valid, charge the card and then ship the order and send a receipt in parallel.",
    ],
)
def test_a_then_inside_a_branch_ends_what_runs_first(text):
    model, r = translated(text)
    assert _fan(model)[0] == {"ship_order", "send_receipt"}, r.dsl
    assert any(t.sources == ("charge_card",) and len(t.targets) == 2 for t in model.transitions), r.dsl


def test_what_a_charge_is_made_to_is_not_what_it_means_next():
    _, r = translated("Receive the booking, charge the customer and confirm it by email.")
    assert "confirm_booking" in r.dsl, r.dsl
    _, r = translated("Charge the card and then block it.")  # nothing before: the card is what "it" is
    assert "block_card" in r.dsl, r.dsl


def test_a_gerund_that_is_not_a_step_is_left_alone():
    _, r = translated("Send reminders while waiting for the approval.")
    assert "[" not in r.dsl, r.dsl  # waiting is what the reminders are for, not a parallel step


@pytest.mark.parametrize(
    ("text", "checked", "then", "on_failure"),
    [
        (
            "Download the CSV, validate the columns, and load it into the warehouse. If validation fails, "
            "alert the data team and stop.",
            "validate_columns",
            "load_csv_warehouse",
            "alert_data_team",
        ),
        (
            "Check the stock, reserve it and charge the card. If the stock check fails, cancel the order.",
            "check_stock",
            "reserve_stock",
            "cancel_order",
        ),
        (
            "Verify the customer's identity, open the account and send a welcome email. If the verification "
            "fails, reject the application.",
            "verify_customer_identity",
            "open_account",
            "reject_application",
        ),
    ],
)
def test_a_failed_check_named_after_later_steps_branches_off_that_check(text, checked, then, on_failure):
    """ "If validation fails" a few steps after the validation: the failure path leaves at the validation
    (the load runs only when it passed), not after the last step (was: load, then decide)."""
    model, r = translated(text)
    outs = [t for t in model.transitions if t.sources == (checked,)]
    assert {t.targets[0] for t in outs} == {then, on_failure}, r.dsl
    failure = next(t for t in outs if t.targets == (on_failure,))
    assert failure.is_conditional and failure.condition.text.endswith("==False"), r.dsl
    assert next(t for t in outs if t.targets == (then,)).condition is None, r.dsl


def test_a_passed_check_named_later_still_follows_the_last_step():
    model, r = translated("Validate the columns and load the file. If validation passes, email the team.")
    assert "load_file->email_team:validation_passed==True;" in r.dsl, r.dsl  # the load is not skipped
