"""Playwright helpers for driving Streamlit widgets.

Every helper waits for the condition that matters (the script run finished, the element visible and
enabled, the value taken) instead of sleeping a fixed time, so the tests hold on a loaded machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
# Screenshots the documentation shows. A test run writes them under tests/screenshots/docs/ (gitignored),
# so `make test` leaves the work tree as it was; `make screenshots` (WORKBENCH_DOCS_SCREENSHOTS=1)
# writes them into docs/img/ to refresh the documentation's pictures.
DOCS_IMG = (
    ROOT / "docs" / "img"
    if os.environ.get("WORKBENCH_DOCS_SCREENSHOTS") == "1"
    else ROOT / "tests" / "screenshots" / "docs"
)
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
RUNNING = "[data-testid='stApp']:not([data-test-script-state='notRunning'])"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"


def load_factor() -> float:
    """How oversubscribed the CPUs are now: the 1-minute load average per core, at least 1."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def unique(name: str) -> str:
    """A workflow name no other test (or earlier run of this one) uses."""
    return f"{name} {uuid.uuid4().hex[:6]}"


# Counts the app's script runs in the page (every time ``data-test-script-state`` leaves
# ``notRunning``) and remembers the count when an action is about to be taken (:func:`arm`).
_ARM = """() => {
  if (window.__wbRuns === undefined) {
    window.__wbRuns = 0;
    new MutationObserver(records => {
      for (const r of records) {
        if (r.target.getAttribute('data-test-script-state') !== 'notRunning') window.__wbRuns++;
      }
    }).observe(document.documentElement,
               {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
  }
  window.__wbArmedAt = window.__wbRuns;
}"""
# a run started since the helper armed the page, or one going on now
_STARTED = f"""() => (window.__wbArmedAt !== undefined && window.__wbRuns > window.__wbArmedAt)
  || document.querySelector("{RUNNING}") !== null"""


def arm(page) -> None:
    """Note the app's script-run count right before an action, so :func:`settle` knows at once when
    the rerun it causes has already come and gone (instead of waiting 750 ms for a run to start)."""
    try:
        page.evaluate(_ARM)
    except PlaywrightError:
        pass  # the page is navigating: settle falls back to waiting briefly for a run to start


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the script run triggered by the last action has finished.

    The run may not have started when this is called: wait briefly for the app to leave the idle
    state (or, when the helper armed the page before acting, for the run count to have grown), then
    for it to be idle again (a run that started and ended in between is fine too)."""
    try:
        page.wait_for_function(_STARTED, timeout=750)
    except PlaywrightError:
        pass  # already over (and not armed), or the action caused no rerun
    idle(page, timeout)
    try:
        page.evaluate("() => { window.__wbArmedAt = undefined; }")
    except PlaywrightError:
        pass


def open_app(page, url: str) -> float:
    """Load the app (a new Streamlit session) and return the seconds until it is interactive."""
    t0 = time.monotonic()
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=60_000, state="attached")
    page.wait_for_selector("[data-testid='stSidebarNav']", timeout=60_000)
    return time.monotonic() - t0


def nav(page, title: str) -> None:
    """Go to a page through the sidebar and wait until it is drawn."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has=page.get_by_text(title, exact=True)).first
    expect(link).to_be_visible(timeout=60_000)
    idle(page)
    arm(page)
    link.click()
    page.wait_for_selector(f"h1:has-text('{title.split()[0]}')", timeout=60_000)
    settle(page)


def button(page, name: str, exact: bool = False):
    return page.get_by_role("button", name=name, exact=exact)


def idle(page, timeout: float = 60_000) -> None:
    """Wait until the app is connected and no script run is going on."""
    page.wait_for_selector(CONNECTED, timeout=timeout, state="attached")
    page.wait_for_selector(IDLE, timeout=timeout, state="attached")


def click(page, name: str, exact: bool = False) -> None:
    """Click a button once it is visible and enabled and the app is idle, then wait for the rerun it
    causes. A button drawn early in a run still going on (``wait_text`` does not wait for the end of
    the run: "Saved …" appears before the template gallery below it is drawn) could swallow the click
    on a loaded machine: the Describe page's *Run it* then never switched to the Run page."""
    press(page, button(page, name, exact).first)


def click_until(page, name: str, shown: str, exact: bool = False, attempts: int = 3) -> None:
    """Click a button until the page shows ``shown`` (what the click leads to). A script run that redraws
    the page right after the click (a flash message's rerun) can swallow it on a loaded machine (seen in
    CI: a schedule's *Pause*): look again and click again, never once ``shown`` is on the page."""
    for attempt in range(attempts):
        if attempt and shown in main_text(page).inner_text():
            return
        click(page, name, exact)
        try:
            expect(main_text(page)).to_contain_text(shown, timeout=15_000 if attempt < attempts - 1 else 60_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def press(page, target, rerun: bool = True) -> None:
    """Click ``target`` (any locator, also one inside a component's iframe) once it is enabled and the
    app is idle; with ``rerun``, wait for the script run the click causes to finish."""
    expect(target).to_be_enabled(timeout=60_000)
    idle(page)
    if rerun:
        arm(page)
    target.click()
    if rerun:
        settle(page)


def click_at_once(pages: list, name: str) -> None:
    """Click the button ``name`` in several browser sessions back to back (no rerun wait in between, so
    what they start overlaps), each once its button is enabled and its app idle; then wait for each
    session's rerun to finish."""
    targets = [button(pg, name).first for pg in pages]
    for pg, target in zip(pages, targets):
        expect(target).to_be_enabled(timeout=60_000)
        idle(pg)
        arm(pg)
    for target in targets:
        target.click()
    for pg in pages:
        settle(pg)


def fill_area(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    expect(box).to_be_editable(timeout=60_000)
    box.fill(text)
    arm(page)
    box.press("Control+Enter")
    settle(page)


def fill_input(page, label: str, text: str, submit: bool = True) -> None:
    box = page.get_by_label(label, exact=True)
    expect(box).to_be_editable(timeout=60_000)
    box.fill(text)
    if submit:
        arm(page)
        box.press("Enter")
        settle(page)


def choose(page, label: str, option: str, attempts: int = 3, anywhere: bool = False) -> None:
    """Pick an option of a selectbox (a react-aria combobox in Streamlit 1.67) and wait until it shows it
    (an option's label may go on after ``option``: "python — run a Python function"; with ``anywhere``,
    ``option`` may be any part of it: a run's id at the end of "… · completed · <id>").

    A rerun that redraws the box between the click and the pick can swallow the pick: try again."""
    box = page.get_by_role("combobox", name=label, exact=True).first
    taken = re.compile(("" if anywhere else "^") + re.escape(option))
    for attempt in range(attempts):
        expect(box).to_be_visible(timeout=60_000)
        expect(box).to_be_enabled(timeout=60_000)
        idle(page)
        box.click()
        box.fill(option)  # the combobox filters its options as you type
        arm(page)
        page.get_by_role("option").filter(has_text=option).first.click()
        settle(page)
        try:
            expect(box).to_have_value(taken, timeout=10_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def open_section(page, label: str, attempts: int = 4):
    """Open the expander whose summary says ``label`` (if closed) once the app is idle; its ``details``.

    Decide on the expander's own open state, never on whether its content is visible yet: right after
    a page switch the script is idle before the widgets inside are drawn (their code loads lazily),
    and clicking then would close an open expander.

    A script run that redraws the page right after the click can mount the expander anew, closed
    again, which swallows the click (seen on a loaded CI machine): then look again and click again,
    never clicking an expander that is already open."""
    details = page.locator("[data-testid='stExpander'] details").filter(has=page.locator("summary", has_text=label))
    details = details.first
    for attempt in range(attempts):
        details.wait_for(state="attached", timeout=60_000)
        idle(page)
        if not details.evaluate("d => d.open"):
            arm(page)
            details.locator("summary").first.click()
            settle(page)
        try:
            expect(details).to_have_js_property("open", True, timeout=10_000 if attempt < attempts - 1 else 60_000)
            return details
        except AssertionError:
            if attempt == attempts - 1:
                raise
    return details


def open_expander(page, label: str, inside: str) -> None:
    """Open an expander (:func:`open_section`) and wait until the combobox ``inside`` it can be used."""
    details = open_section(page, label)
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


def use_template(page, template: str, attempts: int = 2) -> None:
    """Click *Use this template* on the gallery card titled ``template`` once the page is idle, and wait
    until the Describe page says it took that very template.

    The card is found by its stable key (the template's file, ``st-key-tpl-card-<key>``). Clicking while
    the page is still drawing can land on a neighbour's button when the layout moves under the pointer
    (a CI run saved *Incident response*, the card above *Order processing*, under the order test's name):
    wait for idle first, check the result, and click again if another template was taken."""
    from engine.workbench import drafts

    key = next(t["key"] for t in drafts.templates() if t["name"] == template)
    use = page.locator(f".st-key-tpl-card-{key}").get_by_role("button", name="Use this template")
    head = main_text(page).get_by_text(re.compile(r"^From the template "))
    for attempt in range(attempts):
        expect(use).to_be_enabled(timeout=60_000)
        idle(page)
        use.scroll_into_view_if_needed()
        idle(page)
        arm(page)
        use.click()
        settle(page)
        try:
            expect(head.first).to_have_text(f"From the template {template}", timeout=30_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def save_template(page, url: str, template: str, name: str) -> None:
    """Describe → *Use this template* ``template`` → Save it under ``name`` (the test's own copy)."""
    open_app(page, url)
    use_template(page, template)
    fill_input(page, "Name", name, submit=False)
    click(page, "Save workflow")
    wait_text(page, f"Saved {name} as version 1")


def open_run_page(page) -> None:
    """From the Describe page just saved: *Run it*, until the Run page is shown. A click swallowed by a
    rerun on a loaded machine left the Describe page up with no workflow chosen (a CI run then waited 60 s
    on the Workflows page for the saved workflow's schedules)."""
    click_until(page, "Run it", "Run a workflow")


def launch_saved(page, name: str, context: dict | None = None) -> None:
    """From the Describe page just saved: *Run it*, fill the initial context, *Launch*."""
    open_run_page(page)
    launch_again(page, name, context)


def launch_again(page, name: str, context: dict | None = None) -> None:
    """On the Run page, with workflow ``name`` chosen in "Start a run" (the last one launched): fill the
    initial context and *Launch* another run of it."""
    open_expander(page, "Start a run", "Workflow")
    expect(page.get_by_role("combobox", name="Workflow")).to_have_value(name)
    if context is not None:
        if page.get_by_label("Initial context (JSON)", exact=True).count():
            fill_area(page, "Initial context (JSON)", json.dumps(context))
        else:  # a workflow with typed [inputs]: one field per input, labelled with its name
            for key, value in context.items():
                fill_input(page, key, str(value))
    click(page, "Launch")


def watching(page):
    """The Run page's run selector ("Watching")."""
    return page.get_by_role("combobox", name="Watching")


def alerts(page, kind: str):
    """Streamlit alerts of one kind: error, warning, info or success."""
    return page.locator(f"[data-testid='stAlertContent{kind.capitalize()}']")


def cli(db, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """The ``workbench`` CLI in its own process on the app's store (in-process runs, states inline)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OPENAI_"))}
    env.update(WORKBENCH_DB=str(db), WORKBENCH_SERVER="local", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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
