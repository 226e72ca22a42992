"""A trailing condition on an alert is the alert's alone: "store the rates and notify the treasury team if the
rate moved more than 2%" stored the rates only when they had moved (both steps were under the condition)."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "step", "alert", "cond"),
    [
        (
            "Store the rates in the database and notify the treasury team if the rate moved more than 2%.",
            "store_rates_database",
            "notify_treasury_team",
            "rate_moved_percent>2",
        ),
        (
            "Save the file and email the manager if it is larger than 10 MB.",
            "save_file",
            "email_manager",
            "file_size_mb>10",
        ),
        (
            "Load the data, clean it and alert the team if any rows are missing.",
            "clean_data",
            "alert_team",
            "rows_found==False",
        ),
    ],
)
def test_the_steps_before_the_alert_run_either_way(text, step, alert, cond):
    model, r = translated(text)
    assert f"{step}->{alert}:{cond};" in r.dsl, r.dsl
    assert f"{step}->end;" in r.dsl, r.dsl  # no alert: the run still did the step
    assert not any(t.condition is not None and step in t.targets for t in model.transitions), r.dsl


@pytest.mark.parametrize(
    "text",
    [
        # not an alert: both steps are what the condition is for
        "Refund the customer and close the ticket if the item was returned.",
        # one verb for both ("approve and notify them"): left as it is
        "Approve and notify the customer if the payment cleared.",
    ],
)
def test_other_trailing_conditions_keep_their_scope(text):
    model, r = translated(text)
    first = next(t for t in model.transitions if t.sources == ("start",))
    assert first.targets[0].startswith("check_"), r.dsl  # the condition comes first, as before
