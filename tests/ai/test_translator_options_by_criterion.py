"""Two options joined by "or" with a criterion (issue 16 follow-up): "ship with DHL or UPS based on the
destination country", "route it to the EU or US team depending on the region" are a decision with one step per
option, like the choice by preference; the variable names the choice (``ship_method``, ``route_destination``)
because the options are not the criterion's values. Was one step such as ship_dhl_ups_based.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "first", "other", "before", "after"),
    [
        (
            "Pack the order. Ship with DHL or UPS based on the destination country. Then email the tracking number.",
            "ship_method=='dhl'",
            "ship_order_dhl",
            "ship_order_ups",
            "pack_order",
            "email_tracking_number",
        ),
        (
            "Receive the request. Route it to the EU or US team depending on the region. Then log the ticket.",
            "route_destination=='eu_team'",
            "route_request_eu_team",
            "route_request_us_team",
            "receive_request",
            "log_ticket",
        ),
        (
            "Check the order total. Pay the supplier by card or by invoice according to their terms. Then file the receipt.",
            "pay_method=='card'",
            "pay_supplier_card",
            "pay_supplier_invoice",
            "check_order_total",
            "file_receipt",
        ),
        (
            "Review the draft, then publish it on the blog or the wiki according to the audience. Finally, tell the author.",
            "publish_location=='blog'",
            "publish_draft_blog",
            "publish_draft_wiki",
            "review_draft",
            "tell_author",
        ),
    ],
)
def test_two_options_with_a_criterion_are_a_decision(text, cond, first, other, before, after):
    model, r = translated(text)
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert (cond, first) in conds, r.dsl
    assert any(before in t.sources and other in t.targets for t in model.transitions), r.dsl
    for step in (first, other):
        assert any(step in t.sources and after in t.targets for t in model.transitions), r.dsl
    assert not any(w in s for s in model.states for w in ("depending", "based", "according")), r.dsl
