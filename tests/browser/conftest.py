"""On a failing browser test, save a screenshot of the page as tests/screenshots/FAILED-<test>.png."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and "page" in item.funcargs:
        from tests.fixtures.app_server import SCREENSHOTS

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            item.funcargs["page"].screenshot(path=str(SCREENSHOTS / f"FAILED-{item.name}.png"), full_page=True)
        except Exception:  # the page may be gone
            pass
