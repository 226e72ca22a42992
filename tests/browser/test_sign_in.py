"""Sign-in in Chromium: the workbench served with an ``[auth]`` section for a real local OIDC provider
(``oidc-provider-mock``), and served beyond loopback without one (refused).

Nothing about sign-in is mocked: the browser follows Streamlit's ``st.login`` redirect to the provider,
authorizes a user there and comes back with the provider's ID token; roles come from the
``[workbench.roles]`` section of the app's secrets file (tests/fixtures/oidc_provider.py: ROLES).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine import records
from engine.store import Store
from tests.browser.helpers import (
    choose,
    click,
    fill_input,
    launch_saved,
    main_text,
    nav,
    no_exception,
    open_expander,
    settle,
    shot,
    unique,
    use_template,
    wait_text,
)
from tests.fixtures.app_server import AppServer, page_timeout_ms
from tests.fixtures.oidc_provider import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDEBAR = "[data-testid='stSidebar']"


def _context_page(browser):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(page_timeout_ms())
    return ctx, pg


def _signed_in(browser, app, provider, sub: str, email: str, role: str, groups: list[str] | None = None):
    """A new browser session signed in as ``email``; its sidebar shows the role it got."""
    provider.add_user(sub, email=email, name=sub.title(), groups=groups)
    ctx, pg = _context_page(browser)
    sign_in(pg, app.url, sub)
    pg.wait_for_selector("[data-testid='stSidebarNav']", timeout=60_000)
    expect(pg.locator(SIDEBAR).get_by_text(f"Signed in as {email} · {role}")).to_be_visible(timeout=60_000)
    settle(pg)
    return ctx, pg


def test_signed_out_session_sees_only_log_in(browser, signed_in_app, screenshots_dir):
    ctx, pg = _context_page(browser)
    try:
        pg.goto(signed_in_app.url)
        expect(pg.get_by_role("button", name="Log in", exact=True)).to_be_visible(timeout=60_000)
        settle(pg)
        assert pg.locator("[data-testid='stSidebarNav']").count() == 0
        assert pg.get_by_text("Describe a workflow").count() == 0
        shot(pg, screenshots_dir, "40_sign_in_required")
    finally:
        ctx.close()


def test_operator_approves_and_is_recorded_viewer_cannot_launch_or_approve(
    browser, signed_in_app, oidc_provider, screenshots_dir
):
    app = signed_in_app
    name = unique("Order processing signed in")
    op_ctx, op = _signed_in(browser, app, oidc_provider, "ops", "operator@example.com", "operator")
    viewer_ctx = None
    try:
        # the operator saves a workflow from a template and launches it; it waits for approval
        use_template(op, "Order processing")
        fill_input(op, "Name", name, submit=False)
        click(op, "Save workflow")
        wait_text(op, f"Saved {name} as version 1")
        launch_saved(op, name, {"order_id": 3})
        wait_text(op, "Approval needed", timeout=180)
        watching = op.get_by_role("combobox", name="Watching")
        execution_id = watching.input_value().rsplit(" · ", 1)[-1]
        assert execution_id, watching.input_value()

        # a signed-in user nobody gave a role is a viewer: no Launch, no Approve, no Settings page
        viewer_ctx, viewer = _signed_in(browser, app, oidc_provider, "vic", "viewer@example.com", "viewer")
        nav_links = viewer.locator("[data-testid='stSidebarNav']")
        assert nav_links.get_by_text("Settings", exact=True).count() == 0
        nav(viewer, "Run")
        open_expander(viewer, "Start a run", "Workflow")
        wait_text(viewer, "can watch runs but not start them")
        assert viewer.get_by_role("button", name="Launch", exact=True).count() == 0
        choose(viewer, "Watching", execution_id, anywhere=True)  # the option's label ends with the id
        wait_text(viewer, "Approval needed")
        wait_text(viewer, "Your role cannot answer this request.")
        assert viewer.get_by_role("button", name="Approve").count() == 0
        assert viewer.get_by_role("button", name="Reject").count() == 0
        assert viewer.get_by_role("button", name="Cancel run").count() == 0
        shot(viewer, screenshots_dir, "41_viewer_cannot_approve")
        no_exception(viewer)

        # the operator approves: the run completes and the answer records the operator's e-mail
        click(op, "Approve")
        completed = re.compile(rf"^{re.escape(name)} v1 · completed · ")
        expect(op.get_by_role("combobox", name="Watching")).to_have_value(completed, timeout=120_000)
        main_text(op).get_by_text("completed").first.wait_for(timeout=60_000)
        no_exception(op)
    finally:
        op_ctx.close()
        if viewer_ctx is not None:
            viewer_ctx.close()

    store = Store(app.db)
    try:
        deadline = time.monotonic() + 30
        answered: list[dict] = []
        while time.monotonic() < deadline:
            answered = [r for r in records.human_requests(store, execution_id) if r.get("status") == "answered"]
            if answered:
                break
            time.sleep(0.5)
        assert [(r["answer"], r["answered_by"]) for r in answered] == [("yes", "operator@example.com")]
        audit = " ".join(a["message"] or "" for a in records.audit_log(store, execution_id))
        assert "by operator@example.com" in audit
        sign_ins = store.query("SELECT actor, message FROM audit_logs WHERE event_type = 'security.app_sign_in'")
        assert {(r["actor"], r["message"]) for r in sign_ins} >= {
            ("operator@example.com", "operator@example.com signed in to the app as operator"),
            ("viewer@example.com", "viewer@example.com signed in to the app as viewer"),
        }
    finally:
        store.close()


def test_listening_beyond_loopback_without_sign_in_is_refused(browser, screenshots_dir):
    """``server.address = 0.0.0.0`` and no ``[auth]``: every session gets the refusal page, no workbench."""
    workdir = Path(tempfile.mkdtemp(prefix="workbench-open-"))
    server = AppServer(workdir)
    # every interface, and a secrets file that does not exist (a developer's own secrets stay out of it)
    server.extra_args = ["--server.address", "0.0.0.0", "--secrets.files", str(workdir / "no-secrets.toml")]
    ctx = None
    try:
        server.start()
        ctx, pg = _context_page(browser)
        pg.goto(server.url)
        wait_text(pg, "sign-in is not configured")
        settle(pg)
        assert pg.locator("[data-testid='stSidebarNav']").count() == 0
        assert pg.get_by_text("Describe a workflow").count() == 0
        shot(pg, screenshots_dir, "42_open_without_sign_in_refused")
        assert "sign-in is not configured" in server.log()  # also said on the app's stderr
    finally:
        if ctx is not None:
            ctx.close()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_group_member_signs_in_as_admin_and_sees_settings(browser, signed_in_app, oidc_provider):
    """Roles also come from the ID token's ``groups`` claim (``group:workbench-admins`` in ROLES)."""
    ctx, pg = _signed_in(
        browser, signed_in_app, oidc_provider, "ada", "ada@example.com", "admin", groups=["workbench-admins"]
    )
    try:
        nav(pg, "Settings")
        no_exception(pg)
    finally:
        ctx.close()
