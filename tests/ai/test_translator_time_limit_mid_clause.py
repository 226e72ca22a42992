"""A time limit in the middle of a clause (issue 16 follow-up): "reply within 24 hours with an apology",
"call them within the hour", "acknowledge the ticket within 2 hours by email" — the limit is a note for the
step's timeout and the step keeps its own name (reply_apology, call_leads; was reply_24_hours_apology,
call_leads_hour)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "step", "limit"),
    [
        ("Log the complaint and reply within 24 hours with an apology.", "reply_apology", "within 24 hours"),
        ("Triage the incoming leads. Hot leads: call them within the hour.", "call_leads", "within the hour"),
        ("Acknowledge the ticket within 2 hours by email.", "acknowledge_ticket", "within 2 hours"),
    ],
)
def test_a_time_limit_mid_clause_is_a_note(text, step, limit):
    _, r = translated(text)
    assert f"->{step};" in r.dsl or f"->{step}:" in r.dsl, r.dsl
    assert "hour" not in r.dsl, r.dsl
    assert any(limit in n and "time limit" in n for n in r.notes), r.notes
