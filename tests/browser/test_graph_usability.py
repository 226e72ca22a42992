"""The workflow graph in Chromium: the page scrolls over it, labels are readable, a Fit control works,
and the DSL playground names its examples by what they do and opens one in the editor.

The app runs without Ray (RAY_ADDRESS points at a closed port): the playground and the editor only parse
DSL and draw it (the analytics views' app, shared). Label sizes are measured on the canvas itself: every ``fillText`` of vis-network is
recorded with its font size times the canvas transform's scale, i.e. the pixel size on screen.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import DOCS_IMG, agraph_frame, click, idle, press, settle
from tests.fixtures.app_server import page_timeout_ms

pytestmark = pytest.mark.browser


# Records the on-screen size of every text vis-network draws (in every frame, the agraph iframe included).
RECORD_TEXT = """
(() => {
  const P = CanvasRenderingContext2D.prototype;
  const orig = P.fillText;
  window.__labelPx = [];
  P.fillText = function (text, x, y, ...rest) {
    const m = /(\\d+(?:\\.\\d+)?)px/.exec(this.font || "");
    if (m && String(text).trim()) {
      const t = this.getTransform();
      window.__labelPx.push({text: String(text), px: parseFloat(m[1]) * Math.hypot(t.a, t.b) / (window.devicePixelRatio || 1)});
      if (window.__labelPx.length > 4000) window.__labelPx.splice(0, 2000);
    }
    return orig.call(this, text, x, y, ...rest);
  };
})();
"""

SCROLL_TOP = """() => Math.max(window.scrollY, ...Array.from(document.querySelectorAll(
  "[data-testid='stMain'], [data-testid='stAppViewContainer'], section.main, .main")).map(e => e.scrollTop))"""


@pytest.fixture
def graph_app(views_app):
    """The no-Ray app of the analytics views (tests/browser/conftest.py): the playground and the editor
    only parse and draw DSL, so its records do not matter here and a second server is not started."""
    return views_app


@pytest.fixture
def tab(browser, graph_app):
    ctx = browser.new_context(viewport={"width": 1500, "height": 900})
    ctx.add_init_script(RECORD_TEXT)
    pg = ctx.new_page()
    pg.set_default_timeout(page_timeout_ms())
    yield pg
    ctx.close()


def _graph_frame(pg):
    agraph_frame(pg)
    handle = pg.locator("iframe[title*='agraph']").first.element_handle()
    frame = handle.content_frame()
    frame.wait_for_function("window.__labelPx && window.__labelPx.length > 10", timeout=60_000)
    return frame


def _label_sizes(frame) -> dict[str, float]:
    """The smallest on-screen size of each label text drawn so far (px)."""
    sizes: dict[str, float] = {}
    for r in frame.evaluate("window.__labelPx"):
        sizes[r["text"]] = min(sizes.get(r["text"], 1e9), r["px"])
    return sizes


def test_graph_lets_the_page_scroll_and_labels_are_readable(tab, graph_app):
    tab.goto(graph_app.url + "/dsl_playground")
    settle(tab)
    frame = _graph_frame(tab)
    # the CI/CD example (16 states, a 3-way fan-out) at the default zoom: every label at least 14 px
    sizes = _label_sizes(frame)
    assert "build image" in " ".join(sizes), sorted(sizes)[:20]
    small = {t: round(px, 1) for t, px in sizes.items() if px < 14}
    assert not small, small
    # the mouse wheel over the graph scrolls the page, it does not zoom the drawing
    box = tab.locator("iframe[title*='agraph']").first.bounding_box()
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 300))
    before_scale = frame.evaluate("window.__wbNetwork ? window.__wbNetwork.getScale() : null")
    top0 = tab.evaluate(SCROLL_TOP)
    tab.mouse.wheel(0, 500)
    tab.wait_for_function(f"({SCROLL_TOP})() > {top0} + 100", timeout=10_000)
    if before_scale is not None:
        assert frame.evaluate("window.__wbNetwork.getScale()") == pytest.approx(before_scale)


def test_graph_has_zoom_and_fit_controls(tab, graph_app):
    tab.goto(graph_app.url + "/dsl_playground")
    settle(tab)
    frame = _graph_frame(tab)
    fit_scale = frame.evaluate("window.__wbNetwork.getScale()")
    zoom_in = frame.get_by_role("button", name="Zoom in")
    for _ in range(3):
        press(tab, zoom_in, rerun=False)  # vis-network's own control: no script run follows
    frame.wait_for_function(f"window.__wbNetwork.getScale() > {fit_scale} * 1.3")
    press(tab, frame.get_by_role("button", name="Fit"), rerun=False)
    frame.wait_for_function(f"Math.abs(window.__wbNetwork.getScale() - {fit_scale}) < {fit_scale} * 0.05")
    # the whole drawing is inside the box after Fit
    inside = frame.evaluate(
        """() => { const n = window.__wbNetwork; const ids = Object.keys(n.body.nodes);
        const c = n.canvas.frame.canvas.getBoundingClientRect();
        return ids.every(id => { const p = n.canvasToDOM(n.getPosition(id));
          return p.x >= -2 && p.y >= -2 && p.x <= c.width + 2 && p.y <= c.height + 2; }); }"""
    )
    assert inside


def test_playground_examples_are_named_by_what_they_do_and_open_in_the_editor(tab, graph_app):
    tab.goto(graph_app.url + "/dsl_playground")
    settle(tab)
    box = tab.get_by_role("combobox", name="Start from an example", exact=True)
    expect(box).to_be_visible()
    idle(tab)
    box.click()  # only opens the list (Escape closes it): nothing is picked
    names = [o.inner_text() for o in tab.get_by_role("option").all()]
    tab.keyboard.press("Escape")
    assert len(names) >= 7
    assert not [n for n in names if "§" in n or "Appendix" in n], names
    _graph_frame(tab)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(DOCS_IMG / "dsl_playground_graph.png"), full_page=True)
    width = tab.locator("iframe[title*='agraph']").first.bounding_box()["width"]
    print("graph column width", width)
    click(tab, "Open in the editor")
    tab.wait_for_selector("h1:has-text('Editor')")
    dsl = tab.get_by_label("DSL", exact=True)
    expect(dsl).to_have_value(__import__("re").compile("run_security_scan"))


WIDE = (
    "start->split;split->[north,south,east,west,centre,islands,overseas,online];"
    "[north,south,east,west,centre,islands,overseas,online]->merge:all_ok==True;"
    "[north,south,east,west,centre,islands,overseas,online]->report;merge->end;report->end;"
)


def test_a_workflow_too_wide_for_the_column_stays_readable_and_scrollable(tab, graph_app):
    """Eight parallel branches do not fit the column at 14 px: the canvas gets wider than the column
    (it scrolls sideways) instead of shrinking the labels, and the wheel still scrolls the page."""
    tab.goto(graph_app.url + "/dsl_playground")
    settle(tab)
    _graph_frame(tab)
    box = tab.get_by_label("Workflow DSL", exact=True)
    box.fill(WIDE)
    box.press("Control+Enter")
    settle(tab)
    frame = tab.locator("iframe[title*='agraph']").first.element_handle().content_frame()
    frame.wait_for_function("window.__labelPx && window.__labelPx.some(r => r.text === 'overseas')", timeout=60_000)
    frame.evaluate("window.__labelPx = []")
    frame.evaluate("window.__wbNetwork.redraw()")
    frame.wait_for_function("window.__labelPx.length > 10")
    sizes = _label_sizes(frame)
    assert "overseas" in sizes
    small = {t: round(px, 1) for t, px in sizes.items() if px < 14}
    assert not small, small
    # the canvas is wider than the column and the view starts on its middle, where 'start' is drawn
    frame.wait_for_function(
        """() => { const d = document.scrollingElement, n = window.__wbNetwork;
        if (d.scrollWidth <= d.clientWidth + 10) return false;
        const x = n.canvasToDOM(n.getPosition('start')).x - d.scrollLeft;
        return x > 0 && x < d.clientWidth; }""",
        timeout=20_000,
    )
    iframe = tab.locator("iframe[title*='agraph']").first.bounding_box()
    tab.mouse.move(iframe["x"] + iframe["width"] / 2, iframe["y"] + min(iframe["height"] / 2, 250))
    top0 = tab.evaluate(SCROLL_TOP)
    tab.mouse.wheel(0, 400)
    tab.wait_for_function(f"({SCROLL_TOP})() > {top0} + 100", timeout=10_000)
