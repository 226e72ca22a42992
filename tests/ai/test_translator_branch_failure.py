"""The failure of one parallel step, after "If both succeed": the join's other outcome.

"Reserve the stock and charge the card at the same time. If both succeed, ship the order …. If the
charge fails, release the stock and tell the customer." checked ``charge_success`` after the shipping
(a value no step sets, on the path of a run whose charge worked): the failure of one of the parallel
steps is the join's ``any_failed`` branch.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, ok, failed",
    [
        (
            "When an order is placed, reserve the stock and charge the card at the same time. If both succeed, "
            "ship the order and email the tracking number. If the charge fails, release the stock and tell the "
            "customer.",
            "ship_order",
            "release_stock",
        ),
        (
            "Reserve the stock and charge the card in parallel. If both succeed, ship the order. If the payment "
            "fails, cancel the order.",
            "ship_order",
            "cancel_order",
        ),
        (
            "Run the unit tests and the linter in parallel. If both pass, deploy. If the tests fail, email the "
            "developer.",
            "deploy_results",
            "email_developer",
        ),
    ],
)
def test_one_parallel_step_failing_is_the_joins_failure_branch(text, ok, failed):
    dsl = offline_translation(text).dsl
    assert f"]->{ok}:all_ok;" in dsl and f"]->{failed}:any_failed;" in dsl, dsl
    assert "_success==" not in dsl
