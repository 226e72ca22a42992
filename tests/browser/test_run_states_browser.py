"""Run states in Chromium (issue 15), against the app as `make run` serves it.

Each test saves its own copy of a template under a unique name (no dependence on other tests' data;
the cancelled and the declined run are two runs of one copy, saved once)
and waits for conditions (script idle, element enabled, text shown), never fixed times. The views
these tests reach are also saved as the documentation's screenshots (docs/img/)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    DOCS_IMG,
    ROOT,
    alerts,
    button,
    choose,
    cli,
    click,
    launch_again,
    launch_saved,
    main_text,
    nav,
    no_exception,
    open_app,
    save_template,
    settle,
    shot,
    unique,
    wait_text,
    watching,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def docs_img():
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    return DOCS_IMG


def test_waiting_run_selector_agrees_and_a_cancel_hides_approval_then_a_declined_card_shows_its_outcome(
    page, app_server, docs_img
):
    """One saved copy of *Order processing*, two runs: order 3 waits for an approval and is cancelled;
    order 5 (its card is declined) completes with that outcome in Run and History."""
    name = unique("Orders cancel")
    save_template(page, app_server.url, "Order processing", name)
    launch_saved(page, name, {"order_id": 3})
    wait_text(page, "Approval needed", timeout=180)
    # the selector and the card say the same: waiting (the selector used to stay at "running")
    expect(watching(page)).to_have_value(re.compile(rf"^{re.escape(name)} v1 · waiting · "), timeout=60_000)
    wait_text(page, "waiting for an approval at 'wait_customer_decision'")
    shot(page, docs_img, "run_waiting_for_approval")

    click(page, "Cancel run")
    expect(watching(page)).to_have_value(re.compile(rf"^{re.escape(name)} v1 · cancelled · "), timeout=60_000)
    expect(button(page, "Approve")).to_have_count(0, timeout=60_000)
    expect(alerts(page, "info").filter(has_text="Cancelled:").first).to_be_visible()
    expect(alerts(page, "error")).to_have_count(0)  # a cancel is a person's decision, not an error
    shot(page, docs_img, "run_cancelled")
    no_exception(page)

    launch_again(page, name, {"order_id": 5})  # order 5: the card is declined
    expect(watching(page)).to_have_value(re.compile(rf"^{re.escape(name)} v1 · completed · "), timeout=180_000)
    wait_text(page, "outcome notify_payment_failure")
    expect(main_text(page)).to_contain_text("Steps:")  # what the timeline measures, beside the Duration
    shot(page, docs_img, "run_completed_outcome")
    nav(page, "History")
    wait_text(page, "outcome notify_payment_failure")
    page.get_by_text("Step by step").first.wait_for()
    shot(page, docs_img, "history_outcome_and_inputs")
    no_exception(page)


def test_a_cli_run_waiting_for_approval_is_not_interrupted_and_leaves_when_answered(page, app_server, docs_img):
    tpl = str(ROOT / "data" / "templates" / "order_processing.toml")
    p = cli(app_server.db, "run", tpl, "--context", json.dumps({"order_id": 3}), "--execution", "inline", "--json")
    out = json.loads(p.stdout or "{}")
    assert out.get("status") == "waiting", p.stderr  # the CLI process has exited: the run waits for a person
    eid = out["execution_id"]

    open_app(page, app_server.url)
    nav(page, "History")
    wait_text(page, "waiting for a person")
    wait_text(page, "waiting for an approval at 'wait_customer_decision'")
    banner = page.locator("[data-testid='stMarkdownContainer']").filter(has_text=eid)  # not the table's cells
    expect(banner).to_have_count(1)
    expect(main_text(page)).not_to_contain_text("interrupted run")
    expect(button(page, "Resume", exact=True)).to_have_count(0)
    shot(page, docs_img, "history_waiting_not_interrupted")

    p = cli(app_server.db, "approve", eid, "wait_customer_decision", "--yes", "--execution", "inline")
    assert p.returncode == 0, p.stderr
    # answered elsewhere: the banner goes without a reload
    expect(banner).to_have_count(0, timeout=60_000)
    no_exception(page)


def test_a_rerun_shows_what_it_reused_and_links_to_its_source_and_back(page, app_server, docs_img):
    name = unique("Sales rerun")
    save_template(page, app_server.url, "Regional sales report", name)
    launch_saved(page, name)
    expect(watching(page)).to_have_value(re.compile(rf"^{re.escape(name)} v1 · completed · "), timeout=180_000)
    source = watching(page).input_value().split(" · ")[-1]
    nav(page, "History")
    choose(page, "Re-run from step", "combine_report")
    click(page, "Re-run from here")
    wait_text(page, f"Re-run of {source} from 'combine_report'", timeout=120)
    wait_text(page, "reused from it: count_sales")
    wait_text(page, "outcome combine_report", timeout=180)  # the re-run finished
    settle(page)
    shot(page, docs_img, "history_rerun_reused")
    click(page, "Open the source run")
    wait_text(page, "Re-run as ")
    expect(main_text(page)).to_contain_text(f"{source}")
    no_exception(page)
