"""Recorded fixture runs with hand-computed expectations (see each scenario's docstring)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine import library
from engine.workflow_file import parse_workflow_text
from tests.analytics.recorder import Recorder

D1 = datetime(2026, 11, 1)
NOW = datetime(2026, 11, 10)  # "now" for the relative time ranges of the tests


def ms(n: float) -> timedelta:
    return timedelta(milliseconds=n)


ALPHA_TOML = '''
name = "Alpha"
dsl = """
start->fetch;
fetch->parse;
parse->end;
"""
[states.fetch]
action = "python"
function = "tests.engine.functions:add"
[states.parse]
action = "python"
function = "tests.engine.functions:add"
'''


@pytest.fixture
def alpha(store):
    return build_alpha(store)


def build_alpha(store, base: datetime = D1) -> dict:
    """Workflow Alpha v1 (6 runs) and Beta (1 run); ``base`` is the first day (default 2026-11-01).

    Runs of Alpha (start_time, status, duration ms):
      E1 11-01 10:00 completed 1000 | E2 11-01 11:00 completed 2000 | E3 11-01 11:30 completed 3000
      E4 11-02 09:00 failed 4000    | E5 11-02 10:00 cancelled 500  | E6 11-02 11:00 running (none)
    Attempts: fetch 100, 300, 40 (failed ConnectionError), 160, 100; parse 200, 50 (failed ValueError),
    250, 200, 60 (failed ValueError).
    """
    spec = parse_workflow_text(ALPHA_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    day = timedelta(days=1)
    b0 = base.replace(hour=0, minute=0, second=0, microsecond=0)
    t = {
        "E1": b0.replace(hour=10),
        "E2": b0.replace(hour=11),
        "E3": b0.replace(hour=11, minute=30),
        "E4": (b0 + day).replace(hour=9),
        "E5": (b0 + day).replace(hour=10),
        "E6": (b0 + day).replace(hour=11),
    }
    runs = [
        ("E1", "completed", 1000),
        ("E2", "completed", 2000),
        ("E3", "completed", 3000),
        ("E4", "failed", 4000),
        ("E5", "cancelled", 500),
        ("E6", "running", None),
    ]
    for eid, status, dur in runs:
        rec.execution(eid, wid=wid, name="Alpha", version=ver, status=status, start=t[eid], duration_ms=dur, spec=spec)
        rec.step(eid, "start", wid=wid, start=t[eid], ms=0.01, to="fetch", executed_on="inline")
    s = rec.step
    # E1
    s("E1", "fetch", wid=wid, start=t["E1"] + ms(1), ms=100, to="parse")
    s("E1", "parse", wid=wid, start=t["E1"] + ms(200), ms=200, to="end")
    # E2: parse fails once, then completes
    s("E2", "fetch", wid=wid, start=t["E2"] + ms(1), ms=300, to="parse")
    s(
        "E2",
        "parse",
        wid=wid,
        start=t["E2"] + ms(400),
        ms=50,
        status="failed",
        error_type="ValueError",
        error_message="bad row 3",
    )
    s("E2", "parse", wid=wid, start=t["E2"] + ms(500), ms=250, attempt=2, to="end")
    # E3: fetch fails once, then completes
    s(
        "E3",
        "fetch",
        wid=wid,
        start=t["E3"] + ms(1),
        ms=40,
        status="failed",
        error_type="ConnectionError",
        error_message="reset by peer",
    )
    s("E3", "fetch", wid=wid, start=t["E3"] + ms(100), ms=160, attempt=2, to="parse")
    s("E3", "parse", wid=wid, start=t["E3"] + ms(300), ms=200, to="end")
    # E4: parse fails for good
    s("E4", "fetch", wid=wid, start=t["E4"] + ms(1), ms=100, to="parse")
    s(
        "E4",
        "parse",
        wid=wid,
        start=t["E4"] + ms(200),
        ms=60,
        status="failed",
        error_type="ValueError",
        error_message="bad row 9",
    )
    # a fan-in join row and a decision row must not count as state attempts
    s("E1", "[fetch,parse]", wid=wid, start=t["E1"] + ms(450), ms=0, status="join", to="end", executed_on="inline")
    s("E1", "parse", wid=wid, start=t["E1"] + ms(460), ms=0, status="decision", to="end", executed_on="inline")
    # recovery: (E2, parse) auto recovered; (E3, fetch) auto recovered after a failed retry;
    # (E4, parse) escalated to a person, not recovered; (E5, fetch) auto skip that failed
    r = rec.recovery
    r("E2", "parse", wid=wid, at=t["E2"] + ms(460), strategy="retry", success=True)
    r("E3", "fetch", wid=wid, at=t["E3"] + ms(50), strategy="retry", success=False)
    r("E3", "fetch", wid=wid, at=t["E3"] + ms(90), strategy="retry", success=True)
    r("E4", "parse", wid=wid, at=t["E4"] + ms(270), strategy="retry", success=False)
    r("E4", "parse", wid=wid, at=t["E4"] + ms(280), strategy="escalate", success=False, chosen_by="human")
    r("E5", "fetch", wid=wid, at=t["E5"] + ms(10), strategy="skip", success=False, chosen_by="policy")
    # AI decisions on 11-01: ai 80, ai 90, rule 100
    rec.decision("E1", wid=wid, at=t["E1"] + ms(300), decided_by="ai", confidence=80)
    rec.decision("E2", wid=wid, at=t["E2"] + ms(300), decided_by="ai", confidence=90, result=False)
    rec.decision("E3", wid=wid, at=t["E3"] + ms(300), decided_by="rule", confidence=100)
    # LLM calls: 11-01 two (one cache hit), 11-02 two; one translator call without a workflow
    rec.llm_call(at=t["E1"], cost=0.01, wid=wid)
    rec.llm_call(at=t["E2"], cost=0.0, cache_hit=True, wid=wid)
    rec.llm_call(at=t["E4"], cost=0.02, wid=wid)
    rec.llm_call(at=t["E5"], cost=0.03, wid=wid)
    rec.llm_call(at=t["E1"], cost=0.5, wid=None, operation="translate")
    # Beta: one completed run on 11-03
    beta_spec = parse_workflow_text("start->only;\nonly->end;\n", fmt="dsl")
    beta_spec.name = "Beta"
    bwid, bver = library.save_workflow(store, beta_spec)
    rec.execution(
        "B1",
        wid=bwid,
        name="Beta",
        version=bver,
        status="completed",
        start=b0 + 2 * day,
        duration_ms=100,
        spec=beta_spec,
    )
    rec.step("B1", "only", wid=bwid, version=bver, start=b0 + 2 * day, ms=90, to="end")
    rec.write()
    return {"wid": wid, "version": ver, "beta": bwid, "spec": spec, "t": t}


GAMMA_TOML = '''
name = "Gamma"
dsl = """
start->a;
a->b;
b->c;
c->d;
d->e;
e->end;
"""
[states.a]
action = "python"
function = "tests.engine.functions:add"
[states.b]
action = "python"
function = "tests.engine.functions:add"
[states.c]
action = "python"
function = "tests.engine.functions:add"
[states.d]
action = "python"
function = "tests.engine.functions:add"
[states.e]
action = "python"
function = "tests.engine.functions:add"
'''


def record_gamma(
    store,
    rec: Recorder,
    wid: str,
    ver: int,
    spec,
    n_runs: int = 4,
    start: datetime = D1,
    durations: dict | None = None,
    prefix: str = "G",
) -> list[str]:
    """Gamma runs: a (50 ms, writes x) -> b (500, reads x) -> c (500, writes y) -> d (500, reads q)
    -> e (200, reads y). Initial q per run: 1, 1, 2, 1. Each run takes 1900 ms.

    Independent: b, c, d. Dependent: (a, b) through x, (c, e) through y.
    """
    dur = {"a": 50, "b": 500, "c": 500, "d": 500, "e": 200, **(durations or {})}
    qs = [1, 1, 2, 1]
    ids = []
    for i in range(n_runs):
        eid = f"{prefix}{i + 1}"
        ids.append(eid)
        t0 = start + timedelta(hours=i)
        q = qs[i % len(qs)]
        rec.execution(
            eid, wid=wid, name="Gamma", version=ver, start=t0, duration_ms=1900, spec=spec, initial_context={"q": q}
        )
        rec.step(eid, "start", wid=wid, version=ver, start=t0, ms=0.01, to="a", executed_on="inline")
        at = t0 + ms(1)
        plan = [
            ("a", [], {"x": 1}),
            ("b", ["x"], {"bx": f"b-{i}"}),
            ("c", [], {"y": i}),
            ("d", ["q"], {"z": q * 10}),
            ("e", ["y"], {"w": i + 1}),
        ]
        nxt = {"a": "b", "b": "c", "c": "d", "d": "e", "e": "end"}
        for state, reads, updates in plan:
            rec.step(
                eid, state, wid=wid, version=ver, start=at, ms=dur[state], to=nxt[state], reads=reads, updates=updates
            )
            at += ms(dur[state] + 1)
    return ids


@pytest.fixture
def gamma(store):
    return build_gamma(store)


def build_gamma(store, start: datetime = D1, n_runs: int = 4) -> dict:
    spec = parse_workflow_text(GAMMA_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    ids = record_gamma(store, rec, wid, ver, spec, n_runs=n_runs, start=start)
    rec.write()
    return {"wid": wid, "version": ver, "spec": spec, "ids": ids}


DELTA_TOML = '''
name = "Delta"
dsl = """
start->call;
call->end;
"""
[states.call]
action = "python"
function = "tests.engine.functions:add"
'''


@pytest.fixture
def delta(store):
    """Delta: 12 runs of one state 'call'. Runs 1-9 succeed at once (durations 100, 110, …, 180 ms);
    runs 10 and 11 fail once (ConnectionError) then succeed (190, 200 ms); run 12 fails and the run fails.
    Attempts 14, failed 3; visits 12, failed after recovery 1; completions 11 (100..200 ms).
    """
    return build_delta(store)


def build_delta(store, toml: str = DELTA_TOML) -> dict:
    """The Delta runs (see the ``delta`` fixture) recorded for the workflow ``toml`` (a state 'call')."""
    spec = parse_workflow_text(toml)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    for i in range(12):
        eid = f"D{i + 1}"
        t0 = D1 + timedelta(hours=i)
        status = "failed" if i == 11 else "completed"
        rec.execution(eid, wid=wid, name="Delta", version=ver, status=status, start=t0, duration_ms=300, spec=spec)
        if i >= 9:
            rec.step(
                eid,
                "call",
                wid=wid,
                version=ver,
                start=t0 + ms(1),
                ms=20,
                status="failed",
                error_type="ConnectionError",
                error_message="connection reset",
            )
        if i < 11:
            rec.step(
                eid,
                "call",
                wid=wid,
                version=ver,
                start=t0 + ms(50),
                ms=100 + 10 * i,
                to="end",
                attempt=2 if i >= 9 else 1,
                updates={"n": i},
            )
    rec.write()
    return {"wid": wid, "version": ver, "spec": spec}
