"""On a failing browser test, save a screenshot of the page as tests/screenshots/FAILED-<test>.png.

``views_app`` (package-scoped): the workbench without Ray on records of "Shop" and "Payments", shared by
the analytics views and the graph tests (one Streamlit server instead of two)."""

import shutil
import tempfile
from pathlib import Path

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


@pytest.fixture(scope="package")
def views_app(browser):
    """The app on its own store holding "Shop" (12 runs in the last hour: an approval waiting 20 s,
    parallel branches, a compensation) and "Payments" (10 runs whose 'charge' step failed every time),
    written before it starts; RAY_ADDRESS points at a closed port (these pages only read and draw)."""
    from engine.store import Store
    from tests.analytics.test_optimizer_worst_problem import PAY_TOML, payments_records
    from tests.analytics.test_people_and_buckets import build_shop
    from tests.fixtures.app_server import AppServer

    workdir = Path(tempfile.mkdtemp(prefix="workbench-analytics-views-"))
    store = Store(workdir / "workbench.duckdb")
    build_shop(store)
    payments_records(store, PAY_TOML)
    store.close()
    server = AppServer(workdir, extra_env={"RAY_ADDRESS": "127.0.0.1:9", "WORKBENCH_RAY_CPUS": "2"})
    try:
        server.start(timeout=90)
    except RuntimeError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(str(exc))
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
