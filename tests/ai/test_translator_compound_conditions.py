"""Two conditions joined by "and" / "or" (issue 16 follow-up): "only if all tests pass and the release manager has
approved", "if the order total exceeds 500 dollars or the customer is new" keep both parts
(``tests_passed==True and release_manager_approved==True``) instead of dropping the second; "between 600 and
700" is still one range.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def conditions(text: str) -> list[str]:
    model, r = translated(text)
    return [t.condition.text for t in model.transitions if t.is_conditional]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Deploy to production only if all tests pass and the release manager has approved.",
            "tests_passed==True and release_manager_approved==True",
        ),
        (
            "If the order total exceeds 500 dollars or the customer is new, run a fraud check.",
            "order_total>500 or customer_new==True",
        ),
        (
            "If the ticket is urgent and the customer is a VIP, page the on-call engineer. Otherwise add it to the "
            "queue.",
            "ticket_urgent==True and customer_tier=='vip'",
        ),
        (
            "Run the tests. If all tests pass and the release manager has approved, deploy to production; "
            "otherwise notify the team.",
            "tests_passed==True and release_manager_approved==True",
        ),
    ],
)
def test_both_parts_of_a_compound_condition_are_kept(text, expected):
    assert expected in conditions(text)


def test_a_range_is_not_split():
    assert conditions("If the score is between 600 and 700, review the application manually.") == ["600<=score<=700"]
