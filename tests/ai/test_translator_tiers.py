"""Approval tiers by amount, as an analyst writes them.

"Requests under 1000 are approved automatically. Between 1000 and 10000 the department head approves;
above that, both the department head and the CFO must sign off." was read as a sequence of steps named
``between_1000_10000_department`` and ``sign_off_above``, with no approval but the first:

* a clause led by a range ("Between 1000 and 10000 …", "1000 to 10000: …") is a condition on the value
  the sibling conditions compare;
* "above that" / "below that" is the last number before it;
* a bare comparison ("above 10000,") is the condition of the clause after it;
* "both the department head and the CFO must sign off" is two approvals in parallel, and two people
  approving the same thing get their own names (``approve_contract_legal_team``, not ``…_2``).
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


def _approvals(tr) -> set[str]:
    return {name for name, b in tr.bindings.items() if b.get("action") == "approval"}


def test_three_tiers_of_approval_with_a_range_and_above_that():
    tr = offline_translation(
        "Whenever a purchase request comes in, check the budget. Requests under 1000 are approved automatically. "
        "Between 1000 and 10000 the department head approves; above that, both the department head and the CFO "
        "must sign off. Approved requests are sent to procurement; rejected ones go back to the requester with "
        "the reason."
    )
    dsl = tr.dsl
    assert "check_budget->approve_requests:request_value<1000;" in dsl
    assert "check_budget->get_department_head_approval:1000<=request_value<=10000;" in dsl
    assert "check_budget->begin_parallel_work:request_value>10000;" in dsl
    assert "begin_parallel_work->[get_department_head_approval_2,get_cfo_approval];" in dsl
    assert _approvals(tr) == {"get_department_head_approval", "get_department_head_approval_2", "get_cfo_approval"}
    assert "->send_to_procurement:approved!=False;" in dsl and "approved==False;" in dsl
    assert "between" not in dsl and "above" not in dsl


@pytest.mark.parametrize(
    "text",
    [
        "Check the amount. Under 1000: approve automatically. 1000 to 10000: the department head approves. "
        "Over 10000: the CFO approves.",
        "Check the amount. If it is under 1000, approve it automatically. Between 1000 and 10000, the department "
        "head approves; above that, the CFO must sign off.",
    ],
)
def test_range_and_above_that_tiers_compare_one_value(text):
    tr = offline_translation(text)
    dsl = tr.dsl
    assert "check_amount->approve_amount:amount<1000;" in dsl
    assert "check_amount->get_department_head_approval:1000<=amount<=10000;" in dsl
    assert "check_amount->get_cfo_approval:amount>10000;" in dsl
    assert _approvals(tr) == {"get_department_head_approval", "get_cfo_approval"}


def test_two_people_approving_the_same_thing_in_parallel_are_named_by_who():
    tr = offline_translation(
        "Check the request. Then both the legal team and finance approve the contract in parallel."
    )
    assert "check_request->[approve_contract_legal_team,approve_contract_finance];" in tr.dsl
    assert _approvals(tr) == {"approve_contract_legal_team", "approve_contract_finance"}
