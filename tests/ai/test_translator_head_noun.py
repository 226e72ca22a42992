"""Names keep the object's head noun (issue 16 follow-up): a long object is not cut after its first two
words ("use the last known status" -> switch_to_last_known_status, was switch_to_last_known;
"look up the customer's billing address" -> look_up_customer_billing_address, was look_up_customer_billing).
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "head"),
    [
        ("If the feed is down, use the last known status. Then update the dashboard.", "status"),
        ("Look up the customer's billing address, then send the invoice.", "billing_address"),
        ("Fill in the new starter's tax form. Then book the welcome lunch.", "tax_form"),
        ("Pick up the returned pallet label, then scan it.", "pallet_label"),
    ],
)
def test_a_long_object_keeps_its_head_noun(text, head):
    model, r = translated(text)
    first = next(t.targets[0] for t in model.transitions if "start" in t.sources)
    assert first.endswith(head) or any(s.endswith(head) for s in model.states), r.dsl
