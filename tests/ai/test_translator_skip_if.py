"""'skip it if …' after a step (issue 16 follow-up): "Run the payroll job; skip it if today is a bank holiday"
runs the job unless the condition holds (today_bank_holiday==False -> run_payroll_job; the condition was
dropped, or read as a step skip_step after the step had already run)."""

from __future__ import annotations

import pytest

from engine.dsl.model import START
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "step", "cond"),
    [
        ("Run the payroll job; skip it if today is a bank holiday.", "run_payroll_job", "today_bank_holiday==False"),
        (
            "Send the reminder email. Skip this step if the customer already paid.",
            "send_reminder_email",
            "customer_paid==False",
        ),
        (
            "Check the logs. Restart the server, but don't do it when a deploy is running. Then notify the team.",
            "restart_server",
            "deploy_running==False",
        ),
    ],
)
def test_skip_it_if_guards_the_step(text, step, cond):
    model, r = translated(text)
    guarded = [t for t in model.transitions if t.condition is not None and step in t.targets]
    assert guarded and guarded[0].condition.text == cond, r.dsl
    assert "skip" not in r.dsl, r.dsl
    assert not any(t.source == START and step in t.targets for t in model.transitions), r.dsl
