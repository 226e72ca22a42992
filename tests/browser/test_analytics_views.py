"""Analytics and Optimize as an analyst sees them in Chromium (screenshots for docs/img/, see helpers.DOCS_IMG).

Records: "Shop" (12 runs in the last hour: an approval waiting 20 s, parallel branches, a compensation)
and "Payments" (10 runs whose 'charge' step failed every time), written before the app starts; no Ray.
The app (``views_app``, tests/browser/conftest.py) is shared with the graph tests, which only draw DSL.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import DOCS_IMG, choose, settle
from tests.browser.test_analytics_pages import shot
from tests.fixtures.app_server import page_timeout_ms

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(browser, views_app):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(page_timeout_ms())
    yield pg
    ctx.close()


def _plot(pg, title: str):
    loc = pg.locator(".js-plotly-plot").filter(has_text=title).first
    loc.wait_for()
    return loc


def _texts(loc) -> list[str]:
    """Text of SVG elements (inner_text is not defined for SVG)."""
    return loc.evaluate_all("els => els.map(e => e.textContent)")


def _overlaps(boxes: list[dict]) -> list[tuple[int, int]]:
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]:
                if a["y"] < b["y"] + b["height"] - 1 and b["y"] < a["y"] + a["height"] - 1:
                    out.append((i, j))
    return out


def test_analytics_separates_people_buckets_by_minute_and_reads_the_timeline(tab, views_app):
    tab.goto(views_app.url + "/analytics")
    settle(tab)
    choose(tab, "Workflow", "Shop")
    tab.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6")
    settle(tab)
    body = tab.inner_text("[data-testid='stMain']")
    assert "not the share of runs that succeeded" in body and "1 of 1 failing steps fixed without a person" in body
    # an hour of runs: one bar per run in the trend, not a single dot
    trend = _plot(tab, "Executions and success rate")
    assert trend.locator(".bars path").count() >= 12
    assert not _overlaps([t.bounding_box() for t in trend.locator(".xtick text").all()])  # readable time axis
    # the approval is not in the working-time chart; it has its own
    work_ticks = _texts(_plot(tab, "Working time per state").locator(".ytick text"))
    assert "approve" not in work_ticks and "pick" in work_ticks
    assert "approve" in _texts(_plot(tab, "Waiting for people (s until an answer)").locator(".ytick text"))
    # the timeline of the run with a compensation: state names in words, labels apart from each other
    choose(tab, "Run", "S00", anywhere=True)  # the option's label ends with the run's id
    tab.wait_for_function(
        "Array.from(document.querySelectorAll('.js-plotly-plot .ytick text')).some(t => t.textContent === 'unpick (compensation)')"
    )
    tl = _plot(tab, "Timeline of the run")
    tl.scroll_into_view_if_needed()
    ticks = tl.locator(".ytick text")
    labels = _texts(ticks)
    assert "unpick (compensation)" in labels and any(x.startswith("pack (branch") for x in labels), labels
    assert not [x for x in labels if "~" in x or "0.1-" in x]
    assert not _overlaps([t.bounding_box() for t in ticks.all()])
    assert not tl.locator(".bartext").count()  # no text inside bars (it overlapped)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    shot(tab, DOCS_IMG / "analytics_people_and_timeline.png")


def test_optimize_names_the_failing_step(tab, views_app):
    tab.goto(views_app.url + "/optimize")
    settle(tab)
    choose(tab, "Workflow", "Payments")
    tab.get_by_text("'charge' fails every time").first.wait_for()
    body = tab.inner_text("[data-testid='stMain']")
    assert "merchant id 'm-000' unknown" in body and "Nothing to suggest" not in body
    assert "From 10 finished runs of v1" in body
    shot(tab, DOCS_IMG / "optimize_failing_step.png")
