"""'When <a thing> <has changed state>, …' opening a text (s23) is a first step waiting for that state
("When the ice has melted, drain the tank" -> wait_ice_melted, drain_tank; was a trigger step receive_melted).
Arrivals and new items keep their trigger: "when a file arrives in the inbox" (and its file-trigger proposal),
"when the invoice is received", "when a ticket is closed"."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("When the ice has melted, drain the tank. Then refill it.", ["wait_ice_melted", "drain_tank", "refill_tank"]),
        ("When the paint is dry, hang the pictures.", ["wait_paint_dry", "hang_pictures"]),
        ("When the dough has risen, bake the bread.", ["wait_dough_risen", "bake_bread"]),
        ("When the build is green, deploy to staging.", ["wait_build_green", "deploy_staging"]),
        ("When the report is ready, email it to the board.", ["wait_report_ready", "email_report_board"]),
    ],
)
def test_a_state_change_is_a_first_step_waiting_for_it(text, steps):
    _, r = translated(text)
    assert chain(r.dsl) == steps, r.dsl
    assert r.proposals["triggers"] == [] and r.proposals["schedules"] == [], r.proposals


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("When the invoice is received, enter it in the ledger.", "receive_invoice"),
        ("When a ticket is closed, send a survey.", "receive_ticket"),
        ("When the survey closes, export the responses.", "receive_survey"),
    ],
)
def test_arrivals_and_events_keep_their_trigger_step(text, first):
    _, r = translated(text)
    assert chain(r.dsl)[0] == first, r.dsl


def test_a_file_arriving_is_still_a_file_trigger():
    _, r = translated("When a CSV arrives in the inbox, load it into the warehouse.")
    (trig,) = r.proposals["triggers"]
    assert trig["type"] == "file" and trig["glob"] == "*.csv", r.proposals
    assert chain(r.dsl)[0].startswith("receive_"), r.dsl
