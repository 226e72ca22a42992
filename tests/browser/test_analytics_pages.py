"""The Analytics and Optimize pages in Chromium, served by ``streamlit run app/main.py`` (st.navigation).

The app gets its own records (fixture runs of the last days, written before it starts) and no Ray:
RAY_ADDRESS points at a closed port, so the engine reports Ray unavailable at once and these pages,
which only read records and save workflow versions, are exercised on their own.
Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.analytics import utcnow
from engine.store import Store
from tests.analytics.conftest import build_alpha, build_gamma
from tests.browser.helpers import IDLE, choose, click, settle
from tests.fixtures.app_server import AppServer, page_timeout_ms

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def analytics_app(browser):
    workdir = Path(tempfile.mkdtemp(prefix="workbench-analytics-app-"))
    store = Store(workdir / "workbench.duckdb")
    now = utcnow()
    alpha = build_alpha(store, base=now - timedelta(days=3))
    gamma = build_gamma(store, start=now - timedelta(days=1), n_runs=6)
    store.close()
    server = AppServer(workdir, extra_env={"RAY_ADDRESS": "127.0.0.1:9", "WORKBENCH_RAY_CPUS": "2"})
    try:
        server.start(timeout=90)
    except RuntimeError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(str(exc))
    server.fixture = {"alpha": alpha, "gamma": gamma}
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def tab(browser, analytics_app):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(page_timeout_ms())
    yield pg
    ctx.close()


def idle(pg, charts: int = 0):
    """The script run is over and at least ``charts`` Plotly charts are drawn."""
    settle(pg)
    if charts:
        pg.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}")
    settle(pg)


def shot(pg, path: Path):
    """The whole page: Streamlit scrolls inside its main section, so grow the viewport to the content first."""
    height = pg.evaluate(
        'Math.max(...Array.from(document.querySelectorAll(\'[data-testid="stMain"], '
        "section.main, .main')).map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    pg.set_viewport_size({"width": 1500, "height": min(int(height) + 50, 9000)})
    pg.wait_for_selector(IDLE, state="attached")
    pg.screenshot(path=str(path), full_page=True)
    pg.set_viewport_size({"width": 1500, "height": 1000})


def test_analytics_page_in_the_browser(tab, analytics_app, screenshots_dir):
    tab.goto(analytics_app.url + "/analytics")
    idle(tab, charts=8)
    body = tab.inner_text("[data-testid='stMain']")
    assert "Analytics" in body and "Executions" in body
    assert "13" in tab.locator("[data-testid='stMetric']").first.inner_text()  # 6 Alpha + 1 Beta + 6 Gamma
    for title in (
        "Executions and success rate",
        "Run duration",
        "Working time per state",
        "Error rate per state",
        "Most common errors",
        "Recovery actions by strategy",
        "LLM cost and cache hit rate",
        "Timeline of the run",
    ):
        assert tab.locator(".js-plotly-plot").filter(has_text=title).count() >= 1, title
    assert not tab.locator("[data-testid='stException']").count()
    shot(tab, screenshots_dir / "analytics_all.png")
    choose(tab, "Workflow", "Alpha")
    idle(tab, charts=6)
    metrics = tab.inner_text("[data-testid='stHorizontalBlock']:has([data-testid='stMetric'])")
    assert "60.0%" in metrics and "2.0 s" in metrics and "3.8 s" in metrics
    shot(tab, screenshots_dir / "analytics_alpha.png")
    # hover shows Plotly's tooltip: the charts are interactive
    bar = tab.locator(".js-plotly-plot").filter(has_text="Executions and success rate").locator(".bars path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.wait_for_selector(".hoverlayer .hovertext", timeout=5000)


def test_optimize_page_in_the_browser(tab, analytics_app, screenshots_dir):
    tab.goto(analytics_app.url + "/optimize")
    idle(tab, charts=1)
    # st.code draws its text once its highlighter has loaded, which can be after the script run ends
    expect(tab.locator("[data-testid='stMain']")).to_contain_text("[b,c,d]->e;", timeout=page_timeout_ms())
    body = tab.inner_text("[data-testid='stMain']")
    assert "Optimize" in body and "Optimization score" in tab.inner_text(".js-plotly-plot")
    assert "Run 'b', 'c' and 'd' in parallel" in body
    assert "a->[b,c,d];" in body and "[b,c,d]->e;" in body
    assert "'b' reads x written by 'a'" not in body or "Kept sequential" in body
    assert not tab.locator("[data-testid='stException']").count()
    shot(tab, screenshots_dir / "optimize_suggestions.png")
    click(tab, "Accept → new version")
    idle(tab, charts=2)
    # the comparison appears once the rerun that follows the save has read the new version
    tab.get_by_text("Baseline version").first.wait_for(timeout=30_000)
    idle(tab)
    body = tab.inner_text("[data-testid='stMain']")
    assert "saved as version 2" in body
    assert "Baseline version" in body and "Not enough runs to judge durations" in body
    shot(tab, screenshots_dir / "optimize_accepted.png")
