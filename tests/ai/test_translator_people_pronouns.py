"""'them' / 'they' about people (issue 16 follow-up): after a person-object verb (thank, pay, remind, welcome …)
'them' is the last plural people noun mentioned ("send the survey to the attendees and thank them" ->
thank_attendees, was thank_survey), and 'if they accept' after a message to candidates is candidates_accepted.
Things still win where the verb works on things ('archive it', 'pay them' after invoices, 'if they are paid')."""

from __future__ import annotations

import pytest

from engine.dsl.model import END, START
from tests.ai.translated import translated


def states(text: str) -> tuple[list[str], str]:
    model, r = translated(text)
    names = [s for t in model.transitions for s in (t.source, *t.targets) if s not in (START, END)]
    return list(dict.fromkeys(names)), r.dsl


@pytest.mark.parametrize(
    ("text", "want", "not_want"),
    [
        ("Send the survey to the attendees and thank them.", "thank_attendees", "thank_survey"),
        ("Collect the W-9 forms from the vendors before paying them.", "pay_vendors", "pay_w_9_forms"),
        ("Give the badges to the guests and welcome them.", "welcome_guests", "welcome_badges"),
        ("Email the agenda to the candidates, then remind them the day before.", "remind_candidates", "remind_day"),
        ("Post the slides for the participants and thank them for coming.", "thank_participants_coming", None),
    ],
)
def test_them_after_a_person_verb_is_the_people(text, want, not_want):
    names, dsl = states(text)
    assert want in names, dsl
    if not_want:
        assert not_want not in names, dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Collect the invoices from the vendors and pay them.", "pay_invoices"),
        ("Send the report to the managers and archive it.", "archive_report"),
    ],
)
def test_things_keep_them_where_the_verb_works_on_things(text, want):
    names, dsl = states(text)
    assert want in names, dsl


@pytest.mark.parametrize(
    ("text", "var"),
    [
        (
            "Email the offer letters to the candidates. If they accept, order their laptops; otherwise thank them.",
            "candidates_accepted",
        ),
        ("Mail the forms to the volunteers. If they respond, thank them.", "volunteers_responded"),
        ("Send the invoices to the clients. If they are paid, close them.", "invoices_paid"),
    ],
)
def test_they_in_a_condition_agrees_with_people_when_active(text, var):
    _, dsl = states(text)
    assert f"{var}==True" in dsl, dsl
