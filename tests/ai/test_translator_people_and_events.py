"""Two more classes from prose a new analyst writes (issue 16 follow-up):

- approvals by a named person, with or without their team ("ask Maria from legal to approve the contract",
  "get sign-off from Tom in finance on the budget") are ``approval`` steps named after what is approved,
  with the person (and team) in the binding's description — not plain steps like ``get_sign_off``;
- an event whose noun looks like a verb form ("when a sensor reading arrives", "when a meter reading comes
  in") starts the run as ``receive_<noun>``, and "it" in the next step is that noun;
- "send it to the customer", "post it on the website" name what "it" is and where it goes
  (``send_contract_customer``), not only where (``send_customer``); "confirm it by email" -> ``confirm_booking``.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.model import START
from engine.dsl.validate import check


def tr(text: str):
    t = offline_translation(text)
    model, rep = check(t.dsl)
    assert not rep.errors, (t.dsl, rep.errors)
    return t, model


def first_steps(model, n: int) -> list[str]:
    out, cur = [], START
    for _ in range(n):
        nxt = [x for t in model.transitions if t.source == cur and not t.is_error for x in t.targets]
        if not nxt:
            break
        cur = nxt[0]
        out.append(cur)
    return out


@pytest.mark.parametrize(
    ("text", "step", "who", "after"),
    [
        (
            "Ask Maria from legal to approve the contract, then send it to the customer.",
            "approve_contract",
            "Maria (legal)",
            None,
        ),
        (
            "Get sign-off from Tom in finance on the budget, then publish it.",
            "approve_budget",
            "Tom (finance)",
            "publish_budget",
        ),
        (
            "Prepare the quote. Have Jonas Weber approve the discount, then email the quote to the client.",
            "approve_discount",
            "Jonas Weber",
            None,
        ),
        (
            "Collect the timesheets and get approval from Aisha for the overtime. Then run the payroll.",
            "approve_overtime",
            "Aisha",
            "run_payroll",
        ),
    ],
)
def test_a_named_person_approves(text, step, who, after):
    t, model = tr(text)
    assert step in model.states, t.dsl
    binding = t.bindings.get(step) or {}
    assert binding.get("action") == "approval", (t.dsl, t.bindings)
    assert binding.get("description", "").startswith(f"{who} approves"), binding
    if after:
        assert any(step in tr_.sources and after in tr_.targets for tr_ in model.transitions), t.dsl


def test_a_team_alone_is_not_a_named_person():
    t, model = tr("Ask Finance to check the numbers, then file the report.")
    assert not any(b.get("action") == "approval" for b in t.bindings.values()), t.bindings


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        (
            "When a sensor reading arrives, validate it. Then store the reading.",
            ["receive_sensor_reading", "validate_sensor_reading", "store_reading"],
        ),
        (
            "When a meter reading comes in, check it for gaps and save it to the database.",
            ["receive_meter_reading", "check_reading_gaps", "save_reading_database"],
        ),
        (
            "Whenever a new booking arrives, confirm it by email. Then update the calendar.",
            ["receive_new_booking", "confirm_booking"],
        ),
    ],
)
def test_an_event_noun_that_looks_like_a_verb_starts_the_run(text, steps):
    t, model = tr(text)
    got = first_steps(model, len(steps))
    assert [g.startswith(s) for g, s in zip(got, steps)] == [True] * len(steps), (got, t.dsl)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Ask Maria from legal to approve the contract, then send it to the customer.", "send_contract_customer"),
        (
            "Draft the press release and get sign-off from the head of communications. Then post it on the website.",
            "post_release_website",
        ),
        (
            "Every Monday at 9am, export the open tickets and send them to the support lead.",
            "send_tickets_support_lead",
        ),
        (
            "Wait for Priya's approval of the design, then hand it over to the developers.",
            "hand_over_design_developers",
        ),
    ],
)
def test_a_pronoun_object_with_a_destination_names_both(text, name):
    t, model = tr(text)
    assert name in model.states, t.dsl


def test_share_it_with_a_team_is_named_after_the_team():
    t, model = tr("Write the summary report and share it with the product team.")
    assert "share_product_team" in model.states, t.dsl


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "For each file in the inbox, parse it and load it into the warehouse. Then email a summary.",
            ["parse_file", "load_file_warehouse"],
        ),
        ("For each row in the sheet, validate it and post it to the ledger.", ["validate_row", "post_row_ledger"]),
    ],
)
def test_for_each_item_in_a_place_it_is_the_item(text, names):
    """ "For each file in the inbox, parse it": "it" is the file, not the inbox."""
    t, model = tr(text)
    assert set(names) <= set(model.states), t.dsl
