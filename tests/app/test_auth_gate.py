"""The app's sign-in rules without a browser: which addresses count as local, how roles are mapped
from a secrets file (parsed from TOML text as Streamlit would), and what the example file documents.
The sign-in itself is tested end to end in tests/browser/test_sign_in.py."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app.components.auth_gate import auth_configured, is_loopback, role_for, role_mapping
from engine.auth import Role

ROOT = Path(__file__).resolve().parents[2]

SECRETS = """
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "x"
client_id = "c"
client_secret = "s"
server_metadata_url = "http://localhost:9400/.well-known/openid-configuration"

[workbench.roles]
admin = ["Alice@Example.com"]
operator = ["bob@example.com", "group:ops"]
analyst = "group:analysts"
"""


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses_are_local(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", ["", None, "0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "workbench.example.com"])
def test_other_addresses_and_every_interface_are_not_local(address):
    assert not is_loopback(address)


def test_roles_from_secrets_highest_wins_unknown_is_viewer():
    secrets = tomllib.loads(SECRETS)
    assert auth_configured(secrets)
    mapping = role_mapping(secrets)
    assert role_for("alice@example.com", [], mapping) is Role.ADMIN  # case-insensitive
    assert role_for("bob@example.com", ["analysts"], mapping) is Role.OPERATOR  # the higher of two
    assert role_for("carol@example.com", ["ops"], mapping) is Role.OPERATOR  # through a group
    assert role_for("dave@example.com", ["analysts"], mapping) is Role.ANALYST  # a single string entry
    assert role_for("eve@example.com", ["other"], mapping) is Role.VIEWER
    assert role_for(None, [], mapping) is Role.VIEWER


def test_no_auth_section_means_local_mode_and_a_bad_role_name_is_reported():
    assert not auth_configured({})
    assert not auth_configured(tomllib.loads('[workbench.roles]\nadmin = ["a@b.c"]\n'))
    with pytest.raises(ValueError, match="superuser"):
        role_mapping(tomllib.loads('[workbench.roles]\nsuperuser = ["a@b.c"]\n'))


def test_example_secrets_file_configures_sign_in_and_real_secrets_are_ignored_by_git():
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.example.toml").read_text())
    assert auth_configured(example)
    assert set(example["auth"]) >= {
        "redirect_uri",
        "cookie_secret",
        "client_id",
        "client_secret",
        "server_metadata_url",
    }
    role_mapping(example)  # every role name in it is a real role
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text().splitlines()
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert is_loopback(config["server"]["address"])  # local-only by default


def _preflight(cwd: Path, *args: str, env_extra: dict | None = None):
    """``python -m app.components.auth_gate`` as ``make run`` calls it, in a folder of our own (HOME too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update({"PYTHONPATH": str(ROOT), "HOME": str(cwd)}, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "app.components.auth_gate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_preflight_refuses_every_interface_without_sign_in(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\naddress = "0.0.0.0"\n')
    res = _preflight(tmp_path)
    assert res.returncode == 2, res
    assert "Refusing to start" in res.stderr and "sign-in is not configured" in res.stderr
    # no address at all binds every interface: refused too; the loopback given on the command line is fine
    (tmp_path / ".streamlit" / "config.toml").unlink()
    assert _preflight(tmp_path).returncode == 2
    res = _preflight(tmp_path, "--server.address", "127.0.0.1")
    assert res.returncode == 0 and "Local mode" in res.stdout, res


def test_preflight_accepts_every_interface_with_sign_in(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\naddress = "0.0.0.0"\n')
    (tmp_path / ".streamlit" / "secrets.toml").write_text(SECRETS)
    res = _preflight(tmp_path)
    assert res.returncode == 0 and "Sign-in required" in res.stdout, res
    res = _preflight(tmp_path, env_extra={"STREAMLIT_SERVER_ADDRESS": "10.1.2.3"})
    assert res.returncode == 0, res
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[other]\nx = 1\n")
    assert _preflight(tmp_path, env_extra={"STREAMLIT_SERVER_ADDRESS": "10.1.2.3"}).returncode == 2
