"""Playwright helpers for driving Streamlit widgets.

Every helper waits for the condition that matters (the script run finished, the element visible and
enabled, the value taken) instead of sleeping a fixed time, so the tests hold on a loaded machine.
"""

from __future__ import annotations

import os
import re
import time
import uuid

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
RUNNING = "[data-testid='stApp']:not([data-test-script-state='notRunning'])"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"


def load_factor() -> float:
    """How oversubscribed the CPUs are now: the 1-minute load average per core, at least 1."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def unique(name: str) -> str:
    """A workflow name no other test (or earlier run of this one) uses."""
    return f"{name} {uuid.uuid4().hex[:6]}"


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the script run triggered by the last action has finished.

    The run may not have started when this is called: wait briefly for the app to leave the idle
    state, then for it to be idle again (a run that started and ended in between is fine too)."""
    try:
        page.wait_for_selector(RUNNING, timeout=750, state="attached")
    except PlaywrightError:
        pass  # already over, or the action caused no rerun
    page.wait_for_selector(CONNECTED, timeout=timeout, state="attached")
    page.wait_for_selector(IDLE, timeout=timeout, state="attached")


def open_app(page, url: str) -> float:
    """Load the app (a new Streamlit session) and return the seconds until it is interactive."""
    t0 = time.monotonic()
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=60_000, state="attached")
    page.wait_for_selector("[data-testid='stSidebarNav']", timeout=60_000)
    return time.monotonic() - t0


def nav(page, title: str) -> None:
    """Go to a page through the sidebar and wait until it is drawn."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has=page.get_by_text(title, exact=True)).first.click()
    page.wait_for_selector(f"h1:has-text('{title.split()[0]}')", timeout=60_000)
    settle(page)


def button(page, name: str, exact: bool = False):
    return page.get_by_role("button", name=name, exact=exact)


def click(page, name: str, exact: bool = False) -> None:
    """Click a button once it is visible and enabled, then wait for the rerun it causes."""
    target = button(page, name, exact).first
    expect(target).to_be_enabled(timeout=60_000)
    target.click()
    settle(page)


def fill_area(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    expect(box).to_be_editable(timeout=60_000)
    box.fill(text)
    box.press("Control+Enter")
    settle(page)


def fill_input(page, label: str, text: str, submit: bool = True) -> None:
    box = page.get_by_label(label, exact=True)
    expect(box).to_be_editable(timeout=60_000)
    box.fill(text)
    if submit:
        box.press("Enter")
        settle(page)


def choose(page, label: str, option: str, attempts: int = 3) -> None:
    """Pick an option of a selectbox (a react-aria combobox in Streamlit 1.67) and wait until it shows it
    (an option's label may go on after ``option``: "python — run a Python function").

    A rerun that redraws the box between the click and the pick can swallow the pick: try again."""
    box = page.get_by_role("combobox", name=label, exact=True).first
    for attempt in range(attempts):
        expect(box).to_be_visible(timeout=60_000)
        expect(box).to_be_enabled(timeout=60_000)
        box.click()
        box.fill(option)  # the combobox filters its options as you type
        page.get_by_role("option").filter(has_text=option).first.click()
        settle(page)
        try:
            expect(box).to_have_value(re.compile("^" + re.escape(option)), timeout=10_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def open_expander(page, label: str, inside: str) -> None:
    """Open an expander (if closed) and wait until the element ``inside`` it can be used.

    Decide on the expander's own open state, never on whether its content is visible yet: right after
    a page switch the script is idle before the widgets inside are drawn (their code loads lazily),
    and clicking then would close an open expander."""
    details = page.locator("[data-testid='stExpander'] details").filter(has=page.locator("summary", has_text=label))
    details = details.first
    details.wait_for(state="attached", timeout=60_000)
    if not details.evaluate("d => d.open"):
        details.locator("summary").first.click()
        settle(page)
    expect(details).to_have_js_property("open", True, timeout=60_000)
    target = details.get_by_role("combobox", name=inside, exact=True).first
    expect(target).to_be_visible(timeout=60_000)
    expect(target).to_be_enabled(timeout=60_000)


def save_described_workflow(page, url: str, description: str, name: str) -> None:
    """Describe → Translate → Save a workflow under ``name`` (the test's own data, through the UI)."""
    open_app(page, url)
    fill_area(page, "What should the workflow do?", description)
    click(page, "Translate", exact=True)
    wait_text(page, "Translated by")
    fill_input(page, "Name", name, submit=False)
    click(page, "Save workflow")
    wait_text(page, f"Saved {name} as version")


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']"
    ).first.inner_text()


def main_text(page):
    return page.locator("[data-testid='stMain']")


def wait_text(page, text: str, timeout: float = 60.0) -> None:
    """Wait for visible text anywhere in the main area (fragments rerun on their own; no idle wait)."""
    main_text(page).get_by_text(text).first.wait_for(timeout=timeout * 1000)


def shot(page, directory, name: str) -> None:
    """A screenshot once the app is idle."""
    page.wait_for_selector(IDLE, timeout=60_000, state="attached")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def agraph_frame(page, index: int = 0):
    """The agraph iframe, once vis-network has drawn its canvas in it."""
    frame = page.locator("iframe[title*='agraph']").nth(index)
    frame.wait_for(timeout=60_000)
    canvas = page.frame_locator("iframe[title*='agraph']").nth(index).locator("canvas").first
    canvas.wait_for(timeout=60_000)
    return frame
