"""Ray token authentication: the driver turns token mode on when a token exists, and a refused
connection is reported with what to do, never with the token itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ray_tasks import cluster

ROOT = Path(__file__).resolve().parents[2]
SECRET = "tok-5f1e9c0ddeadbeef-secret"


def _home_with_token(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(SECRET)
    return home


def test_token_file_turns_token_mode_on(tmp_path):
    home = _home_with_token(tmp_path)
    env: dict = {}
    source = cluster.prepare_auth_env(env, home)
    assert env["RAY_AUTH_MODE"] == "token"
    assert source == str(home / ".ray" / "auth_token")
    assert SECRET not in source


def test_token_variables_turn_token_mode_on_without_leaking(tmp_path):
    env = {"RAY_AUTH_TOKEN": SECRET}
    source = cluster.prepare_auth_env(env, tmp_path)
    assert env["RAY_AUTH_MODE"] == "token" and SECRET not in source
    token_file = tmp_path / "tok"
    token_file.write_text(SECRET)
    env = {"RAY_AUTH_TOKEN_PATH": str(token_file)}
    assert cluster.prepare_auth_env(env, tmp_path) and env["RAY_AUTH_MODE"] == "token"


def test_no_token_or_explicit_mode_left_alone(tmp_path):
    env: dict = {}
    assert cluster.prepare_auth_env(env, tmp_path) is None and "RAY_AUTH_MODE" not in env
    home = _home_with_token(tmp_path)
    env = {"RAY_AUTH_MODE": "disabled"}
    assert cluster.prepare_auth_env(env, home) is None and env["RAY_AUTH_MODE"] == "disabled"


def test_real_ray_auth_error_maps_to_clear_message(tmp_path):
    from ray._private.authentication.authentication_constants import TOKEN_INVALID_ERROR_MESSAGE
    from ray.exceptions import AuthenticationError

    assert cluster.is_auth_failure(AuthenticationError(TOKEN_INVALID_ERROR_MESSAGE))
    assert cluster.is_auth_failure(RuntimeError("GCS: InvalidAuthToken: Invalid or missing authentication token"))
    assert not cluster.is_auth_failure(ConnectionError("Could not find any running Ray instance"))
    env = {"RAY_AUTH_TOKEN": SECRET}
    msg = cluster.auth_failure_message("10.0.0.5:6379", env, tmp_path)
    assert SECRET not in msg
    assert "RAY_AUTH_MODE=token" in msg and "~/.ray/auth_token" in msg and "RAY_AUTH_TOKEN_PATH" in msg
    assert "10.0.0.5:6379" in msg and "ray stop" not in msg


def _run_connect(address: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    script = textwrap.dedent(
        f"""
        from ray_tasks import cluster
        try:
            info = cluster.connect({address!r})
            print("CONNECTED", info.nodes)
        except cluster.ClusterError as exc:
            print("CLUSTER_ERROR", exc)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


def test_connect_refused_for_auth_says_what_to_do(tmp_path):
    """A driver in token mode without a token: Ray's real AuthenticationError becomes the clear error."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(tmp_path), RAY_AUTH_MODE="token", PYTHONPATH=str(ROOT))
    env.pop("RAY_ADDRESS", None)
    try:
        proc = _run_connect(address, env)
    finally:
        listener.close()
    out = proc.stdout
    assert "CLUSTER_ERROR" in out, proc.stderr[-2000:]
    assert "refused the connection: token authentication failed" in out
    assert "no token was found" in out and "RAY_AUTH_MODE=token" in out
    assert "ray stop" not in out


@pytest.mark.skipif(
    not (Path.home() / ".ray" / "auth_token").is_file() and not os.environ.get("RAY_AUTH_TOKEN"),
    reason="the session cluster runs without token auth",
)
def test_explicit_address_connects_to_token_cluster_without_auth_mode(ray_cluster):
    """RAY_AUTH_MODE unset + explicit address: Ray would not send the token; connect() turns it on."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    env.update(PYTHONPATH=str(ROOT))
    env.pop("RAY_ADDRESS", None)
    proc = _run_connect(ray_cluster.address, env, timeout=180)
    assert "CONNECTED" in proc.stdout, (proc.stdout + proc.stderr)[-2000:]


@pytest.mark.skipif(
    not (Path.home() / ".ray" / "auth_token").is_file() and not os.environ.get("RAY_AUTH_TOKEN"),
    reason="the session cluster runs without token auth",
)
def test_wrong_token_refused_with_instructions_and_no_token(ray_cluster):
    """A token mismatch (Ray retries ~20 s, then a bare 'Failed to connect'): the error says what to do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    # Ray's GCS connect loop tries once a second, 20 times by default: 3 tries end the same way
    env.update(PYTHONPATH=str(ROOT), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=SECRET, RAY_NUM_REDIS_GET_RETRIES="3")
    env.pop("RAY_ADDRESS", None)
    proc = _run_connect(ray_cluster.address, env, timeout=180)
    out = proc.stdout
    assert "CLUSTER_ERROR" in out, (out + proc.stderr)[-2000:]
    assert "RAY_AUTH_MODE=token" in out and "RAY_AUTH_TOKEN_PATH" in out and "ray get-auth-token" in out
    assert SECRET not in out
