"""A parallel remark after the steps (issue 16 follow-up): "HR schedules the exit interview, IT revokes the access
and payroll calculates the final pay. All three happen in parallel." makes those steps the branches of a fan-out
(was a chain ending in a step named three_happen); "these two" takes only the last two steps.
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "branches", "before", "after"),
    [
        (
            "When an employee resigns, HR schedules an exit interview, IT revokes their access and payroll "
            "calculates the final pay. All three happen in parallel. After that, archive the personnel file.",
            {"schedule_exit_interview", "revoke_access", "calculate_final_pay"},
            "receive_employee",
            "archive_personnel_file",
        ),
        (
            "Receive the order. Reserve the stock. Charge the card. These two can run at the same time. "
            "Then ship the order.",
            {"reserve_stock", "charge_card"},
            "receive_order",
            "ship_order",
        ),
        (
            "Download the files. Parse the invoices and extract the totals. Both can happen concurrently. "
            "Finally, email the controller.",
            {"parse_invoices", "extract_totals"},
            "download_files",
            "email_controller",
        ),
    ],
)
def test_a_parallel_remark_makes_the_steps_before_it_a_fan_out(text, branches, before, after):
    model, r = translated(text)
    assert any(before in t.sources and set(t.targets) == branches for t in model.transitions), r.dsl
    assert any(set(t.sources) == branches and after in t.targets for t in model.transitions), r.dsl
    assert not any("happen" in s or "run_same" in s for s in model.states), r.dsl
