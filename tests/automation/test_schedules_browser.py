"""The Workflows page in a real browser whose time zone is Asia/Tokyo: a schedule added there shows its
next fire times in the viewer's zone (st.context.timezone), and pauses."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.automation.specs import upcoming, zone
from tests.browser.helpers import (
    click,
    click_until,
    main_text,
    nav,
    no_exception,
    open_run_page,
    open_section,
    save_described_workflow,
    unique,
)

pytestmark = [pytest.mark.slow]
TZ = "Asia/Tokyo"


def test_next_fire_times_are_shown_in_the_browsers_zone(browser, app_server):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, timezone_id=TZ)
    page = ctx.new_page()
    try:
        name = unique("tokyo schedule")
        save_described_workflow(page, app_server.url, "Fetch the orders, then notify the team.", name)
        open_run_page(page)  # chooses the saved workflow (a swallowed click chose none)
        nav(page, "Workflows")
        main_text(page).get_by_text("Schedules & triggers").first.wait_for(timeout=60_000)
        open_section(page, "Add a schedule")
        zone_box = page.get_by_label("Time zone", exact=True)
        expect(zone_box).to_have_value(TZ, timeout=60_000)  # the form starts in the viewer's zone
        click(page, "Add schedule")
        first = upcoming("0 7 * * 1-5", None, TZ, 1)[0].astimezone(zone(TZ))
        expect(main_text(page)).to_contain_text(f"Next: {first:%a %d %b} 07:00:00", timeout=60_000)
        expect(main_text(page)).to_contain_text(f"({TZ})")
        click_until(page, "Pause", "Paused: no runs until resumed", exact=True)
        no_exception(page)
    finally:
        ctx.close()
