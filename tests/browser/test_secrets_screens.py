"""A planted API key and workbench token appear nowhere (issue 13): not on any page (DOM text and HTML,
with a screenshot of each), not in any DuckDB table, not in the logs, not in the exports.

The app is served with an OpenAI key in its environment that it really uses (the Describe page
translates through a scripted OpenAI-compatible server on 127.0.0.1, which checks the key arrives as
the bearer token), and with a real workbench API token (``workbench token create``) as
``WORKBENCH_TOKEN``. The provider then answers one call with a 401 that echoes the key back, as a
misconfigured provider might: the app's error message must not repeat it."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.browser.helpers import cli, click, fill_area, idle, main_text, nav, no_exception, open_app, settle, shot
from tests.fixtures.app_server import AppServer
from tests.fixtures.llm_server import Reply, ScriptedLLMServer

KEY = f"sk-planted-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"
PAGES = ["Describe", "Workflows", "Editor", "DSL playground", "Run", "History", "Analytics", "Optimize", "Settings"]
TRANSLATION = {
    "dsl": "start->fetch_orders;\nfetch_orders->notify;\nnotify->end;",
    "explanation": "Fetch the orders, then notify the team.",
    "suggestions": [],
}


def _fragments(secret: str) -> list[str]:
    """The secret and two long pieces of it (a partial echo is a leak too)."""
    return [secret, secret[-20:], secret[4:24]]


def _assert_absent(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        for piece in _fragments(secret):
            assert piece not in text, f"{where} shows the planted secret ({piece[:6]}…)"


@pytest.fixture(scope="module")
def planted(browser):
    workdir = Path(tempfile.mkdtemp(prefix="workbench-secrets-"))
    llm = ScriptedLLMServer().start()
    llm.responder = lambda request: Reply(json.dumps(TRANSLATION))
    app = AppServer(workdir)
    made = cli(app.db, "token", "create", "--role", "operator", "--name", "planted")
    assert made.returncode == 0, made.stderr
    token = re.search(r"wbt_[A-Za-z0-9_-]{40,}", made.stdout).group(0)
    app.extra_env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": llm.url,
        "WORKBENCH_LLM_MODEL": "test-model",
        "WORKBENCH_TOKEN": token,
        "WORKBENCH_LOG_LEVEL": "DEBUG",
        # no run is launched here: no Ray of its own (its start-up is 10-20 s of CPU competing with the
        # pages); an address where nothing listens, as the analytics apps do
        "RAY_ADDRESS": "127.0.0.1:9",
    }
    try:
        app.start()
    except RuntimeError as exc:
        llm.stop()
        pytest.fail(str(exc))
    yield app, llm, token, workdir
    app.stop()
    llm.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_a_planted_key_and_token_appear_on_no_page_table_log_or_export(planted, browser, screenshots_dir):
    app, llm, token, workdir = planted
    secrets = [KEY, token]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        open_app(page, app.url)
        fill_area(page, "What should the workflow do?", "Fetch the orders, then notify the team.")
        click(page, "Translate", exact=True)
        main_text(page).get_by_text("Translated by").first.wait_for(timeout=120_000)
        assert any(r["headers"].get("authorization") == f"Bearer {KEY}" for r in llm.requests), "key not used"
        llm.responder = lambda request: Reply(f"Incorrect API key provided: {KEY}.", status=401)
        asked = len(llm.requests)
        fill_area(page, "What should the workflow do?", "Every morning, load the sales file and e-mail a summary.")
        click(page, "Translate", exact=True)
        deadline = time.monotonic() + 90
        while len(llm.requests) <= asked and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        shot(page, screenshots_dir, "secrets_describe_provider_401")
        assert len(llm.requests) > asked, "the second translation never reached the provider"
        settle(page)
        shown = page.locator("[data-testid^='stAlertContent']").all_inner_texts()
        assert shown, "no message about the refused key"
        _assert_absent(" ".join(shown) + page.content(), secrets, "the message about the provider's 401")
        shot(page, screenshots_dir, "secrets_describe_provider_401")
        for title in PAGES:
            nav(page, title)  # nav settles: the page's run is over
            idle(page)
            no_exception(page)
            name = "secrets_" + title.lower().replace(" ", "_")
            shot(page, screenshots_dir, name)
            _assert_absent(page.locator("body").inner_text(), secrets, f"the {title} page's text")
            _assert_absent(page.content(), secrets, f"the {title} page's HTML")
            _assert_absent((screenshots_dir / f"{name}.png").read_bytes().decode("latin-1"), secrets, name)
    finally:
        context.close()
    exported = workdir / "export"
    app.stop()  # the app holds the store read-write: read it (and export it) once it is gone
    done = cli(app.db, "export", "--parquet", str(exported))
    assert done.returncode == 0, done.stderr
    _assert_absent(done.stdout + done.stderr, secrets, "the export command's output")
    files = [p for p in exported.rglob("*") if p.is_file()]
    assert files, "nothing exported"
    for path in files:
        _assert_absent(path.read_bytes().decode("latin-1"), secrets, f"export {path.name}")
    with duckdb.connect(str(app.db), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert "llm_calls" in tables or "api_tokens" in tables, tables
        for table in tables:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            _assert_absent(repr(rows), secrets, f"table {table}")
    logs = [p for p in workdir.rglob("*") if p.is_file() and (p.suffix in (".log", ".jsonl") or "log" in p.name)]
    assert app.log_path in logs and app.log_path.stat().st_size > 0
    for path in logs:
        _assert_absent(path.read_bytes().decode("latin-1"), secrets, f"log {path.name}")
