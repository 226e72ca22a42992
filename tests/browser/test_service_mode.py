"""The browser against `make run`'s layout: the app as a client of a `workbench serve` process.

One service (started by ``engine.service.launcher``, as ``make run`` does) and one app pointing at it
with ``WORKBENCH_SERVER``, on one temporary store (fixture ``served_app``). Runs launched from the
browser are driven by the service: their records name the service's process as the owner, and a run
still completes when the app process is gone.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    choose,
    click,
    fill_area,
    fill_input,
    launch_saved,
    main_text,
    nav,
    no_exception,
    open_app,
    open_expander,
    unique,
    use_template,
    wait_text,
)
from tests.fixtures.app_server import page_timeout_ms

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SALES = (
    "Load the weekly sales. Then, in parallel, compute the totals for the north, south, east and west "
    "regions. After that, combine them into a report and email it to the sales team."
)


@pytest.fixture
def service_page(browser, served_app):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(page_timeout_ms())
    yield pg
    ctx.close()


def _record(db, execution_id: str) -> dict:
    """The run's execution record, read from the store's files (the owner is not in the API's answer)."""
    from engine.store import Store
    from engine.workbench import runs

    store = Store(db)
    try:
        row = runs.execution(store, execution_id)
    finally:
        store.close()
    assert row is not None, f"no execution record for {execution_id}"
    return row


def _owner_pid(owner: str) -> int:
    """``host:pid:tag`` -> pid."""
    return int(owner.split(":")[1])


def _client(service):
    from engine.client import WorkbenchClient

    return WorkbenchClient(service.url, timeout=60)


def _run_of(service, workflow_name: str) -> dict:
    """The one run of ``workflow_name``, as the service lists it."""
    with _client(service) as c:
        rows = [r for r in c.executions(limit=200) if r.get("workflow_name") == workflow_name]
    assert len(rows) == 1, rows
    return rows[0]


def test_sidebar_names_the_service_and_a_described_run_is_driven_by_it(service_page, served_app):
    page, service = service_page, served_app.service
    name = unique("Sales via service")
    open_app(page, served_app.url)
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(
        f"Connected to the workbench service at {service.url}"
    )

    fill_area(page, "What should the workflow do?", SALES)
    click(page, "Translate", exact=True)
    wait_text(page, "Translated by")
    fill_input(page, "Name", name, submit=False)
    click(page, "Save workflow")
    wait_text(page, f"Saved {name} as version 1")

    nav(page, "Run")
    open_expander(page, "Start a run", "Workflow")
    choose(page, "Workflow", name)
    click(page, "Launch")
    # the live monitor follows the run the service drives (its Ray may still be starting)
    expect(page.get_by_role("combobox", name="Watching")).to_have_value(
        re.compile(rf"^{re.escape(name)} v1 · completed · "), timeout=240_000
    )
    expect(main_text(page)).to_contain_text("Steps done")
    no_exception(page)

    run = _run_of(service, name)
    with _client(service) as c:
        detail = c.execution(run["execution_id"])
    assert detail["status"] == "completed" and detail["workflow_name"] == name
    owner = _record(served_app.db, run["execution_id"])["owner"]
    assert _owner_pid(owner) == service.pid, f"owner {owner}: service pid {service.pid}, app pid {served_app.proc.pid}"

    nav(page, "History")
    expect(main_text(page)).to_contain_text(name, timeout=60_000)
    page.get_by_text("Step by step").first.wait_for()
    no_exception(page)


def test_a_run_completes_after_the_app_process_is_gone(service_page, served_app):
    """Launch an approval workflow from the browser, kill -9 the app while the run waits, approve
    through the service: the service finishes the run, and the restarted app's History shows it."""
    page, service = service_page, served_app.service
    name = unique("Orders via service")
    open_app(page, served_app.url)
    use_template(page, "Order processing")
    fill_input(page, "Name", name, submit=False)
    click(page, "Save workflow")
    wait_text(page, f"Saved {name} as version 1")
    launch_saved(page, name, {"order_id": 3})
    wait_text(page, "Approval needed", timeout=240)

    eid = _run_of(service, name)["execution_id"]
    with _client(service) as c:
        waiting = c.execution(eid)
    assert waiting["status"] not in ("completed", "failed", "cancelled"), waiting["status"]
    state = (waiting.get("open_requests") or waiting.get("waiting_for") or [{}])[0].get("state")
    assert state, waiting

    served_app.kill()  # the app process and everything in its session, mid-run
    with _client(service) as c:
        c.approve(eid, state, by="test")
        final = c.wait(eid, timeout=180)
    assert final["status"] == "completed", final
    assert _owner_pid(_record(served_app.db, eid)["owner"]) == service.pid

    served_app.start()  # a new app process (new port) on the same service and store
    open_app(page, served_app.url)
    nav(page, "History")
    expect(main_text(page)).to_contain_text(name, timeout=60_000)
    no_exception(page)
