"""Playwright helpers for driving Streamlit widgets."""
from __future__ import annotations

import re
import time

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def settle(page, timeout: float = 30_000) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def open_app(page, url: str) -> float:
    t0 = time.monotonic()
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=30_000)
    page.wait_for_selector("[data-testid='stSidebarNav']", timeout=30_000)
    return time.monotonic() - t0


def nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a").filter(has=page.get_by_text(title, exact=True)).first.click()
    page.wait_for_selector(f"h1:has-text('{title.split()[0]}')", timeout=20_000)
    settle(page)


def button(page, name: str, exact: bool = False):
    return page.get_by_role("button", name=name, exact=exact)


def click(page, name: str, exact: bool = False) -> None:
    button(page, name, exact).first.click()
    settle(page)


def fill_area(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Control+Enter")
    settle(page)


def fill_input(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick an option of a selectbox (a react-aria combobox in Streamlit 1.67)."""
    box = page.get_by_role("combobox", name=label, exact=True).first
    box.click()
    box.fill(option)  # the combobox filters its options as you type
    page.get_by_role("option").filter(has_text=option).first.click()
    settle(page)


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']").first.inner_text()


def wait_text(page, text: str, timeout: float = 60.0) -> None:
    """Wait for text anywhere in the main area (fragments rerun on their own; no idle wait)."""
    page.get_by_text(text).first.wait_for(timeout=timeout * 1000)


def shot(page, directory, name: str) -> None:
    page.wait_for_timeout(600)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def agraph_frame(page, index: int = 0):
    frame = page.locator("iframe[title*='agraph']").nth(index)
    frame.wait_for(timeout=20_000)
    return frame
