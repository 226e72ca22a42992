"""The Analytics and Optimize pages under Streamlit's AppTest (no browser), on the fixture records."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import library
from tests.analytics.conftest import D1
from tests.analytics.recorder import Recorder

PAGES = Path(__file__).resolve().parents[2] / "app" / "app_pages"


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    return at


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def texts(at) -> str:
    return "\n".join(
        [
            *(i.value for i in at.info),
            *(m.value for m in at.markdown),
            *(c.value for c in at.caption),
            *(s.value for s in at.success),
            *(w.value for w in at.warning),
        ]
    )


def test_analytics_empty_state(store):
    at = page("analytics.py").run()
    assert not at.exception
    assert "No runs recorded yet" in at.info[0].value and "Run" in at.info[0].value


def test_analytics_page_numbers(store, alpha):
    at = page("analytics.py").run()
    assert not at.exception
    # the fixture runs are from 2026-11: outside "Last 30 days" of the real clock unless it is that month
    at.selectbox(key="an.range").set_value("All time").run()
    assert not at.exception, at.exception
    m = metrics(at)
    assert m["Executions"] == "7" and m["Success rate"] == "66.7%"  # 4 of 6 finished, both workflows
    at.selectbox(key="an.workflow").set_value(alpha["wid"]).run()
    m = metrics(at)
    assert m["Executions"] == "6" and m["Success rate"] == "60.0%" and m["Failed"] == "1"
    assert (
        m["p50 duration"] == "2.0 s" and m["p95 duration"] == "3.8 s" and m["Auto-recovery"] == "100%"
    )  # the policy-only incident is not auto-recovery
    assert len(at.get("plotly_chart")) >= 7  # runs, durations, states x2, errors, recovery, decisions, llm, gantt
    at.selectbox(key="an.run").set_value("E3").run()
    assert not at.exception


def test_analytics_range_without_runs(store, alpha):
    at = page("analytics.py").run()
    at.selectbox(key="an.range").set_value("Last 24 hours").run()
    if at.metric:  # only when the clock happens to be on the fixture's dates
        pytest.skip("the fixture runs are within the last 24 hours of this clock")
    assert "No runs in this range" in at.info[0].value and "All time" in at.info[0].value


def test_optimize_empty_state(store):
    at = page("optimize.py").run()
    assert not at.exception
    assert "Nothing to optimize yet" in at.info[0].value


def test_optimize_accept_and_compare(store, gamma):
    at = page("optimize.py").run()
    assert not at.exception, at.exception
    at.number_input(key="opt.slots").set_value(2).run()
    out = texts(at)
    assert "score = 40·S + 30·(1 − P) + 15·T + 15·(1 − C)" in out
    assert "Run 'b', 'c' and 'd' in parallel" in out and "Cache the results of 'd'" in out
    assert "Only one version so far" in out
    accept = [b for b in at.button if b.key and b.key.startswith("btn.opt.accept.") and "new version" in b.label][0]
    accept.click().run()
    assert not at.exception, at.exception
    assert any("saved as version 2" in s.value for s in at.success)
    assert library.get_workflow(store, gamma["wid"])[1]["version"] == 2
    # v2 runs five times, faster: compare
    rec = Recorder(store)
    for i, d in enumerate([1400, 1410, 1420, 1430, 1440]):
        rec.execution(
            f"N{i}", wid=gamma["wid"], name="Gamma", version=2, start=D1.replace(day=5, hour=i), duration_ms=d
        )
    rec.write()
    at.run()
    assert at.selectbox(key="opt.cmp_a").value == 1 and at.selectbox(key="opt.cmp_b").value == 2
    m = metrics(at)
    assert m["Median v2"] == "1.4 s" and m["Speed-up"] == "×1.34"
    assert "Not enough runs to judge durations: version 1 has 4 and version 2 has 5" in texts(at)
    rec.execution("G5", wid=gamma["wid"], name="Gamma", version=1, start=D1.replace(day=4), duration_ms=1900)
    rec.write()
    at.run()
    assert "n = 5 vs 5): significant at the 5% level" in texts(at)
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("btn.opt.measure.")][0]).click().run()
    assert not at.exception
    assert any("Recorded the actual improvement" in s.value for s in at.success)


def test_optimize_not_enough_runs(store):
    from engine.workflow_file import parse_workflow_text
    from tests.analytics.conftest import GAMMA_TOML, record_gamma

    spec = parse_workflow_text(GAMMA_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    record_gamma(store, rec, wid, ver, spec, n_runs=1)
    rec.write()
    at = page("optimize.py").run()
    assert not at.exception
    assert "Not enough runs" in at.warning[0].value
