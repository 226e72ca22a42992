"""Singular 'they' in a condition (s23): after a message to one person, "if they accept" is about that person
("Send the client a quote. If they accept, book the job." -> client_accepted, was quote_accepted), as long as
no plural noun was mentioned after the person; "if they are paid" after invoices keeps the things."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def decisions(model) -> set[tuple[str, str]]:
    return {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}


@pytest.mark.parametrize(
    ("text", "cond", "step"),
    [
        ("Send the client a quote. If they accept, book the job.", "client_accepted==True", "book_job"),
        ("Email the tenant the lease. If they sign, hand over the keys.", "tenant_signs==True", "hand_over_keys"),
        (
            "Send the applicant the test. If they reply within a week, schedule an interview.",
            "applicant_responded==True",
            "schedule_interview",
        ),
        ("Send the client a quote. When they reply, book the job.", "client_responded==True", "book_job"),
    ],
)
def test_they_is_the_one_person_mentioned_last(text, cond, step):
    model, r = translated(text)
    assert (cond, step) in decisions(model), r.dsl
    source = next(t.source for t in model.transitions if t.is_conditional)
    assert any(not t.is_conditional and t.source == source for t in model.transitions), r.dsl  # its else path


def test_they_passive_after_things_keeps_the_things():
    model, r = translated("Send the invoices to the client. If they are paid, close them.")
    assert any(c.startswith("invoices_paid") for c, _ in decisions(model)), r.dsl
