"""A pronoun between a verb and its particle (issue 16 follow-up): "hand them out at the gate" ->
hand_out_passes_gate (was hand_out_gate), "bounce it back to the requester" -> bounce_back_po_requester (was
back_requester: 'back' read as the verb and 'bounce it' as its subject)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Print the boarding passes and hand them out at the gate.", "hand_out_passes_gate"),
        (
            "Check the budget code. If it is valid, forward the PO to procurement; if not, bounce it back to the "
            "requester.",
            "bounce_back_po_requester",
        ),
        ("Open the old tickets and close them out.", "close_out_old_tickets"),
        ("Collect the loan laptops and hand them back to the owners.", "hand_back_laptops"),
    ],
)
def test_the_particle_goes_with_the_verb(text, want):
    _, r = translated(text)
    assert want in r.dsl, r.dsl
