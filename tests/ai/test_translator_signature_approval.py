"""A signature someone must give is an approval (issue 16 follow-up): "Anything over 200 euros needs the
director's signature" -> an approval step get_director_approval with the director as who (was a plain step
need_director_signature); "needs a signature from legal before we send it" -> get_legal_approval, then
send_contract."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "state", "who"),
    [
        (
            "Review the receipts. Anything over 200 euros needs the director's signature.",
            "get_director_approval",
            "director",
        ),
        (
            "Draft the contract. The contract needs a signature from legal before we send it.",
            "get_legal_approval",
            "legal",
        ),
        ("Prepare the lease and get the landlord's countersignature.", "get_landlord_approval", "landlord"),
    ],
)
def test_a_needed_signature_is_an_approval_step(text, state, who):
    _, r = translated(text)
    assert state in r.approvals, (r.dsl, r.approvals)
    assert who in r.approvals[state].lower(), r.approvals
    assert "signature" not in r.dsl, r.dsl
