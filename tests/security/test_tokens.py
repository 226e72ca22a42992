"""API tokens and roles without a server: the permission table, token records in a real store (hash
only), the user-only token file, the rate limiter, local mode switching off once a token exists, and
``workbench serve`` refusing to serve beyond loopback without tokens (real CLI processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import auth
from engine.auth import Permission, PermissionDenied, Role, can
from engine.store import Store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def token_store(tmp_path):
    with Store(tmp_path / "wb.duckdb") as s:
        yield s


# ------------------------------------------------------------------------------ roles
def test_role_table():
    assert can(Role.VIEWER, Permission.READ) and not can("viewer", "workflow:execute")
    assert not can("viewer", Permission.CREATE) and not can("viewer", Permission.APPROVE)
    # analysts: create; execute/approve/cancel/update only their own
    assert can("analyst", Permission.CREATE) and can("analyst", Permission.AI)
    for p in (Permission.EXECUTE, Permission.APPROVE, Permission.CANCEL, Permission.UPDATE, Permission.DELETE):
        assert can("analyst", p, owner="ann", user="ann")
        assert not can("analyst", p, owner="bob", user="ann")
        assert can("operator", p, owner="bob", user="olga")
    assert not can("analyst", Permission.TOKENS) and not can("operator", Permission.SETTINGS)
    assert all(can("admin", p, owner="x", user="y") for p in Permission)


def test_permission_denied_names_the_permission():
    with pytest.raises(PermissionDenied) as err:
        auth.require("viewer", "workflow:execute", user="vic")
    assert err.value.permission is Permission.EXECUTE
    assert "workflow:execute" in str(err.value) and "vic" in str(err.value)
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("superuser")


# Routes open to anyone by design (auth.py's docstring): liveness/readiness probes and the API docs.
OPEN_PATHS = {"/health", "/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _every_route(app):
    """Every route of ``app``, those of included routers too (FastAPI keeps them behind router entries)."""
    from fastapi.routing import iter_route_contexts

    return list(iter_route_contexts(app.routes))


def test_every_api_route_has_a_permission():
    """Every route of the real app (routers included) is open by design, token-checked with a permission
    of its own (a route missing from the table would silently be admin-only), or one of the documented
    routes that authenticate with their own secret."""
    from engine.service import create_app
    from engine.service.auth import ROUTE_PERMISSIONS, SELF_AUTHENTICATED_ROUTES, require_caller

    app = create_app(connect_ray=False, adopt_orphans=False)
    routes = _every_route(app)
    paths = {r.path for r in routes}
    # the walk reaches the routers' routes (schedules/triggers/hooks, notifications), not only app-level ones
    assert {"/api/v1/workflows", "/api/v1/schedules", "/api/v1/hooks/{workflow}/{hook_id}"} <= paths
    assert "/api/v1/notifications" in paths
    unchecked, unmapped, self_auth = [], [], set()
    for r in routes:
        name = r.endpoint.__name__
        if r.path in OPEN_PATHS:
            continue
        if name in SELF_AUTHENTICATED_ROUTES:
            self_auth.add(name)
            continue
        deps = {d.dependency for d in (r.dependencies or [])}
        if require_caller not in deps:
            unchecked.append(f"{sorted(r.methods)} {r.path} ({name})")
        if name not in ROUTE_PERMISSIONS:
            unmapped.append(f"{sorted(r.methods)} {r.path} ({name})")
    assert unchecked == [], f"routes without the token check: {unchecked}"
    assert unmapped == [], f"routes without a permission (admin-only by accident): {unmapped}"
    # the only exception is the webhook: it takes the hook's own secret (HMAC signature or hook token),
    # tested on a served process in tests/automation/test_automation_auth.py and test_triggers_service.py
    assert self_auth == set(SELF_AUTHENTICATED_ROUTES) == {"webhook"}
    assert "secret" in SELF_AUTHENTICATED_ROUTES["webhook"]


# ------------------------------------------------------------------------------ tokens
def test_token_shape_and_expiry_parsing():
    t = auth.new_token()
    assert t.startswith("wbt_") and auth.looks_like_token(t) and len(t) >= 44
    assert auth.new_token() != t
    assert auth.parse_expiry("30d").days == 30 and auth.parse_expiry("12h").total_seconds() == 43200
    assert auth.parse_expiry(None) is None and auth.parse_expiry("never") is None
    for bad in ("30", "0d", "-1d", "3y", "soon"):
        with pytest.raises(ValueError):
            auth.parse_expiry(bad)


def test_only_the_hash_is_stored(token_store, tmp_path):
    secret, row = auth.create_token(token_store, "analyst", user="ann", expires="30d")
    token_store.flush()
    assert "token_hash" not in row and row["token_id"] == auth.hash_token(secret)[:12]
    found, reason = auth.find_token(token_store, secret)
    assert reason == "ok" and found["user_name"] == "ann" and found["role"] == "analyst"
    stored = token_store.query("SELECT token_hash FROM api_tokens")
    assert [r["token_hash"] for r in stored] == [auth.hash_token(secret)]
    token_store.compact()
    hits = [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert hits == []
    audit = token_store.query("SELECT event_type, actor, message FROM audit_logs")
    assert [a["event_type"] for a in audit] == ["security.token_created"]
    assert all(secret not in a["message"] for a in audit)


def test_revoked_unknown_expired_tokens(token_store):
    secret, row = auth.create_token(token_store, "viewer", user="vic")
    assert auth.active_token_count(token_store) == 1
    auth.revoke_token(token_store, row["token_id"][:6], by="adam")
    assert auth.find_token(token_store, secret)[1] == "revoked"
    assert auth.active_token_count(token_store) == 0
    with pytest.raises(auth.TokenError):
        auth.revoke_token(token_store, row["token_id"])  # not active any more
    assert auth.find_token(token_store, auth.new_token())[1] == "unknown"
    assert auth.find_token(token_store, "hello")[1] == "malformed"
    short, _ = auth.create_token(token_store, "viewer", user="sam", expires="1s")
    time.sleep(1.2)
    assert auth.find_token(token_store, short)[1] == "expired"
    assert auth.active_token_count(token_store) == 0
    events = [a["event_type"] for a in token_store.query("SELECT event_type FROM audit_logs ORDER BY timestamp")]
    assert events.count("security.token_revoked") == 1 and events.count("security.token_created") == 2


def test_local_mode_ends_when_the_first_token_exists(token_store):
    from engine.service.auth import Authenticator

    authn = Authenticator(token_store, "auto", limits={})
    assert authn.local_mode()
    auth.create_token(token_store, "admin", user="adam")
    authn.forget()
    assert not authn.local_mode()
    assert Authenticator(token_store, "local", limits={}).local_mode()
    assert not Authenticator(token_store, "required", limits={}).local_mode()


def test_token_file_must_be_user_only(tmp_path, monkeypatch):
    path = tmp_path / "cfg" / "token"
    secret = auth.new_token()
    auth.write_token_file(path, secret)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    monkeypatch.setenv(auth.TOKEN_FILE_ENV, str(path))
    assert auth.token_from_environment() == secret
    from engine.client import WorkbenchClient

    with WorkbenchClient("http://127.0.0.1:9") as c:
        assert c._http.headers["Authorization"] == f"Bearer {secret}"
        assert secret not in repr(c)
    os.chmod(path, 0o644)
    with pytest.raises(auth.TokenFileError, match="chmod 600"):
        auth.token_from_environment()
    monkeypatch.setenv(auth.TOKEN_ENV, "wbt_from_env")  # the environment wins over the file
    assert auth.token_from_environment() == "wbt_from_env"


def test_rate_limiter_window():
    from engine.service.auth import RateLimiter, parse_limit

    assert parse_limit("3/60s") == (3, 60.0) and parse_limit("30/1m") == (30, 60.0) and parse_limit("off") is None
    with pytest.raises(ValueError):
        parse_limit("many/1m")
    lim = RateLimiter({"executions": (2, 0.5), "ai": None})
    assert lim.check("ann", "executions") is None and lim.check("ann", "executions") is None
    wait = lim.check("ann", "executions")
    assert wait is not None and 0 < wait <= 0.5
    assert lim.check("bob", "executions") is None  # per user
    assert all(lim.check("ann", "ai") is None for _ in range(50))  # no limit
    time.sleep(wait + 0.05)
    assert lim.check("ann", "executions") is None


# ------------------------------------------------------------------------------ serve refuses
def _serve(tmp_path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, WORKBENCH_DB=str(tmp_path / "wb.duckdb"), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "serve", "--no-ray", "--port", "1", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_beyond_loopback_needs_tokens(tmp_path):
    out = _serve(tmp_path, "--host", "0.0.0.0")
    assert out.returncode == 2 and "requires API tokens" in out.stderr and "token create" in out.stderr
    out = _serve(tmp_path, "--host", "0.0.0.0", "--local")
    assert out.returncode == 2 and "local mode" in out.stderr


def test_serve_mode_decision():
    from engine.cli.serve_cmds import auth_mode_for, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.0.0.2") and not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert auth_mode_for("127.0.0.1", "local") == ("local", None)
    assert auth_mode_for("127.0.0.1", "auto") == ("auto", None)
