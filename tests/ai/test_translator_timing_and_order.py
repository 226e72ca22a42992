"""Order and timing words inside a sentence (issue 16 follow-up):

- "<step> before <verb>ing <object>" / "before we <verb> …" is two steps in that order ("check the totals before sending the invoice"
  -> check_totals -> send_invoice), not one step named ``check_totals_sending_invoice`` or a lost step;
- "3 days before the due date", "two days after delivery" say when a step runs: a note, not words in its
  name (``send_reminder``, not ``send_reminder_3_days``).
"""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from engine.dsl.model import START
from tests.ai.translated import translated


def chain(text: str):
    model, r = translated(text)
    out, cur = [], START
    while True:
        nxt = [x for t in model.transitions if t.source == cur and not t.is_error for x in t.targets]
        if not nxt or nxt[0] == "end":
            return out, r
        cur = nxt[0]
        out.append(cur)


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Check the totals before sending the invoice.", ["check_totals", "send_invoice"]),
        ("Have the editor approve the draft before publishing it.", ["approve_draft", "publish_draft"]),
        (
            "Reserve the items and ask the sales manager to approve the order before shipping it.",
            ["reserve_items", "approve_order", "ship_order"],
        ),
    ],
)
def test_before_a_gerund_is_the_next_step(text, steps):
    got, r = chain(text)
    assert got == steps, r.dsl


def test_retry_before_giving_up_is_still_a_fallback():
    r = translate_offline("Call the API. Retry up to 3 times before alerting the on-call engineer.")
    assert "call_api->alert_on_call_engineer:@error" in r.dsl.replace(" ", ""), r.dsl


@pytest.mark.parametrize(
    ("text", "steps", "when"),
    [
        ("Send a reminder 3 days before the due date.", ["send_reminder"], "3 days before the due date"),
        (
            "Call the patient one day before the appointment and confirm the time.",
            ["call_patient", "confirm_time"],
            "one day before the appointment",
        ),
        (
            "Archive the file 30 days after the last change, then delete the copy.",
            ["archive_file", "delete_copy"],
            "30 days after the last change",
        ),
    ],
)
def test_a_time_offset_is_a_note_not_a_name(text, steps, when):
    got, r = chain(text)
    assert got == steps, r.dsl
    assert any(when in n for n in r.notes), r.notes


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Get the manager's approval before we order the laptop.", ["get_manager_approval", "order_laptop"]),
        ("Validate the data before you load it into the warehouse.", ["validate_data", "load_data_warehouse"]),
        (
            "The contract needs approval from the legal team before we countersign it and file it.",
            ["get_legal_team_approval", "countersign_contract", "file_contract"],
        ),
    ],
)
def test_before_we_do_something_is_the_next_step(text, steps):
    """ "… before we order the laptop": the ordering is a step after, and "it" is what the sentence is about."""
    got, r = chain(text)
    assert got == steps, r.dsl
