"""Role checks of the automation routes on a real ``workbench serve --auth required`` process; the webhook
route takes the hook's own secret, not an API token."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.automation.conftest import api, save
from tests.service.conftest import start_server, stop_server

pytestmark = [pytest.mark.slow]
KEY = "auth-test-hook-key-0123456789"


def _tokens(db: Path, who: dict[str, str]) -> dict[str, str]:
    """API tokens made on the store before the server starts: name -> secret."""
    from engine import auth
    from engine.store import Store

    with Store(db) as st:
        return {name: auth.create_token(st, role, user=name, name=name)[0] for name, role in who.items()}


def test_schedule_routes_need_a_token_and_the_role_and_hooks_need_only_their_secret():
    tmp = Path(tempfile.mkdtemp(prefix="wb-autoauth-test-"))
    db = tmp / "workbench.duckdb"
    try:
        extra = '[[triggers]]\ntype = "webhook"\nid = "h"\nauth = "hmac"\nsecret = "{secret:AUTH_HOOK}"\n'
        wid = save(db, "guarded", extra)
        tokens = _tokens(db, {"adam": "admin", "ann": "analyst", "vic": "viewer"})
        srv = start_server(
            tmp,
            {"WORKBENCH_SECRET_AUTH_HOOK": KEY, "WORKBENCH_USER": "owner-x"},
            args=["--no-ray", "--auth", "required"],
            ready_path="/health",
            ready_timeout=120,
        )
        try:

            def h(name):
                return {"Authorization": f"Bearer {tokens[name]}"}

            assert api(srv, "GET", "/schedules").status_code == 401
            assert api(srv, "GET", "/schedules", headers=h("vic")).status_code == 200
            body = {"every": "1h", "id": "x"}
            assert api(srv, "POST", f"/workflows/{wid}/schedules", json=body, headers=h("vic")).status_code == 403
            # an analyst who may not read owner-x's workflow learns nothing about it: 404 like an unknown one
            assert api(srv, "POST", f"/workflows/{wid}/schedules", json=body, headers=h("ann")).status_code == 404
            ok = api(srv, "POST", f"/workflows/{wid}/schedules", json=body, headers=h("adam"))
            assert ok.status_code == 201, ok.text
            assert api(srv, "POST", f"/schedules/{wid}:x/pause", headers=h("ann")).status_code == 404
            assert api(srv, "GET", "/triggers", headers=h("vic")).status_code == 200
            raw = b'{"n": 1}'
            sig = "sha256=" + hmac.new(KEY.encode(), raw, hashlib.sha256).hexdigest()
            hook = api(srv, "POST", f"/hooks/{wid}/h", content=raw, headers={"X-Workbench-Signature": sig})
            assert hook.status_code == 202, hook.text
            assert api(srv, "POST", f"/hooks/{wid}/h", content=raw, headers=h("adam")).status_code == 401
        finally:
            stop_server(srv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
