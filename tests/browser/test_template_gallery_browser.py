"""The template gallery in a real browser: the Describe page shows a card with a preview graph for every
template (≥ 12), the search narrows them, and one template is used, saved and run to completion."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.workbench import drafts
from tests.browser.helpers import (
    DOCS_IMG,
    fill_input,
    launch_saved,
    main_text,
    no_exception,
    open_app,
    save_template,
    shot,
    unique,
    wait_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CARDS = "[class*='st-key-tpl-card-']"


def test_gallery_shows_twelve_cards_with_previews_and_a_template_runs(page, app_server, screenshots_dir):
    open_app(page, app_server.url)
    cards = page.locator(CARDS)
    n = len(drafts.templates())
    assert n >= 12
    # Streamlit streams the page in: wait for every card, its preview and its button, not only the first
    expect(cards).to_have_count(n, timeout=60_000)
    expect(page.locator(f"{CARDS} svg[aria-label='workflow preview']")).to_have_count(n, timeout=30_000)
    expect(page.locator(f"{CARDS} button:has-text('Use this template')")).to_have_count(n, timeout=30_000)
    card = cards.filter(has=page.get_by_text("Content review", exact=True)).first
    card.scroll_into_view_if_needed()
    expect(card.locator("svg g.tpl-node")).to_have_count(8)  # start, 6 steps, end
    shot(page, screenshots_dir, "30_template_gallery")
    shot(page, DOCS_IMG, "template_gallery")  # docs/templates.md shows it

    fill_input(page, "Search the templates", "approval")
    wait_text(page, f"of {n} templates")
    expect(cards).not_to_have_count(n, timeout=30_000)
    assert 4 <= cards.count() < n
    fill_input(page, "Search the templates", "")
    expect(cards).to_have_count(n, timeout=60_000)

    name = unique("Content review")
    save_template(page, app_server.url, "Content review", name)
    launch_saved(page, name, {"article_id": 2})
    completed = re.compile(rf"^{re.escape(name)} v1 · completed · ")
    expect(page.get_by_role("combobox", name="Watching")).to_have_value(completed, timeout=120_000)
    main_text(page).get_by_text("send_to_editor").first.wait_for(timeout=60_000)
    no_exception(page)
