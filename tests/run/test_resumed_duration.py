"""A resumed run's duration is its whole wall time, from its recorded start: a CLI run that detached at
an approval and was approved half an hour later took half an hour, not the few milliseconds of its
last drive. (It was the last drive only, so analytics put the approval's wait above the run's own
duration and working time at zero.)"""

from __future__ import annotations

import time

from engine.run.state import RunOptions
from engine.workbench import runs
from engine.workflow_file import parse_workflow_text

APPROVAL = """
name = "Detached approval"
dsl = "start->ask; ask->done; done->end;"
[states.ask]
action = "approval"
message = "Go on?"
"""


def test_a_run_resumed_after_an_answer_counts_the_time_since_its_start(inline_engine):
    eid = inline_engine.start(parse_workflow_text(APPROVAL), {}, options=RunOptions(detach_when_waiting=True))
    assert inline_engine.wait(eid, timeout=30).status == "waiting"  # nobody drives it now
    time.sleep(1.5)
    assert runs.answer_request(inline_engine, eid, "ask", "yes", by="later") == "resumed"  # as the app does
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed"
    row = inline_engine.execution_row(eid)
    span_ms = (row["end_time"] - row["start_time"]).total_seconds() * 1000
    assert row["duration_ms"] >= 1500 and abs(row["duration_ms"] - span_ms) < 250
    assert res.duration_ms >= 1500
