"""A direction adverb between a hand-off's object and its recipient (s23): "Send the signed contract back to the
client" was send_signed_contract_back ('back' taken as an object word, the client pushed out of the name),
"Pass the notes along to the night team" pass_notes_along, "send them on to payroll" send_payroll. The adverb
goes; a short "back" stays as the verb's particle (send_back_form_hr). Without a person or team after "to"
("back to the warehouse", "send the report back") the name is today's."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Send the signed contract back to the client.", ["send_signed_contract_client"]),
        ("Send the form back to HR.", ["send_back_form_hr"]),
        ("Pass the notes along to the night team.", ["pass_notes_night_team"]),
        ("Escalate the ticket up to tier 2.", ["escalate_ticket_tier_2"]),
        ("Hand the tools back to the warehouse team.", ["hand_tools_warehouse_team"]),
        (
            "Collect the timesheets, then send them on to payroll.",
            ["collect_timesheets", "send_timesheets_payroll"],
        ),
        ("Receive the parcel and pass it on to the recipient.", ["receive_parcel", "pass_parcel_recipient"]),
    ],
)
def test_the_adverb_leaves_room_for_the_recipient(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == want, r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Send the report back.", "send_report_back"),
        ("Send the pallet back to the warehouse.", "send_pallet_back_warehouse"),
        ("Take the keys back from the tenant.", "take_keys_back_tenant"),
    ],
)
def test_no_recipient_after_to_keeps_todays_name(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == [want], r.dsl
