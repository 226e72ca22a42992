"""'For every/each <qualified items>, <do Y>' (s23): iterating is not a DSL feature, so the clause's step is Y,
named from Y's verb and object ("For every damaged box, take a photo" -> take_photo, was receive_damaged_box
at the start of a text and a step named damaged_box after other steps); 'it' in Y is the item. Items that
arrive ("for each new order") keep today's reading: the workflow's trigger step."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("For every damaged box, take a photo.", ["take_photo"]),
        ("For each late invoice, send the customer a reminder.", ["send_customer_reminder"]),
        ("For every broken pallet, photograph it and notify the supplier.", ["photograph_pallet", "notify_supplier"]),
        ("For each failed payment, email the customer and retry the charge.", ["email_customer", "retry_charge"]),
        (
            "Unload the truck. For each damaged box, take a photo and log it in the claims sheet.",
            ["unload_truck", "take_photo", "log_photo_claims_sheet"],
        ),
        (
            "Check the library records. For every overdue book, email the borrower.",
            ["check_library_records", "email_borrower"],
        ),
        ("For every damaged box:\n1. Take a photo\n2. Notify the supplier", ["take_photo", "notify_supplier"]),
    ],
)
def test_the_step_is_what_is_done_to_each_item(text, steps):
    model, r = translated(text)
    assert chain(r.dsl) == steps, r.dsl
    assert not any(s.startswith("receive_") or "damaged" in s or "overdue" in s for s in model.states), r.dsl


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("For each new order, check the stock.", "receive_new_order"),
        ("For each payment, run the fraud model.", "receive_payment"),
    ],
)
def test_arriving_items_keep_their_trigger_step(text, first):
    _, r = translated(text)
    assert chain(r.dsl)[0] == first, r.dsl
