"""Connecting to Ray: an existing cluster when ``RAY_ADDRESS`` is set, else a local head.

Ray ties its head processes to the thread that started them, so a head started from a Streamlit
script thread dies about a minute later. Two ways round it are supported:

* ``python -m ray_tasks.cluster ensure`` (what ``make run`` does) starts a detached local head with
  ``ray start --head`` unless one is reachable; the app then connects with ``address="auto"``. The head it
  started is recorded (session directory, address, PIDs) in ``.run/ray-head.json``, and
  ``python -m ray_tasks.cluster stop`` (``make ray-down``) stops that head only — never ``ray stop``,
  which stops every Ray of the user on the machine.
* :func:`connect` called from one long-lived thread (the engine's driver thread) that never exits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

import ray

from engine.errors import WorkbenchError
from engine.logging_setup import hide_ray_thread_notice
from ray_tasks.runtime_env import add_shipped_code, version_mismatch_message

_LOCK = threading.RLock()
_INFO: ClusterInfo | None = None


hide_ray_thread_notice()  # engine/logging_setup.py: Ray's notice about the engine's own thread


class ClusterError(WorkbenchError):
    """Ray could not be reached or started; the message says what to do."""


@dataclass(frozen=True)
class ClusterInfo:
    address: str
    mode: str  # "local" (started here), "existing" (connected)
    dashboard_url: str | None
    resources: dict
    nodes: int


def _default_cpus() -> int:
    return int(os.environ.get("WORKBENCH_RAY_CPUS", max(2, os.cpu_count() or 2)))


def _object_store_bytes() -> int:
    return int(float(os.environ.get("WORKBENCH_RAY_OBJECT_STORE_MB", 512)) * 1024 * 1024)


def _reachable(address: str, timeout: float = 3.0) -> bool:
    """TCP check of host:port (ray:// addresses included) so a dead cluster fails fast."""
    addr = address.split("://", 1)[-1]
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        return True  # let Ray interpret it
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


AUTH_MODE_VAR = "RAY_AUTH_MODE"
AUTH_TOKEN_VAR = "RAY_AUTH_TOKEN"
AUTH_TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"
# Markers of a connection refused for token auth (Ray's AuthenticationError, the GCS's
# UNAUTHENTICATED status, the driver's InvalidAuthToken after its retries).
_AUTH_FAILURE_MARKERS = (
    "invalidauthtoken",
    "unauthenticated",
    "authentication token",
    "token authentication",
)


def auth_token_source(environ=None, home: Path | None = None) -> str | None:
    """Where this process would take Ray's auth token from, or None; never returns the token itself."""
    env = os.environ if environ is None else environ
    if env.get(AUTH_TOKEN_VAR, "").strip():
        return f"the {AUTH_TOKEN_VAR} environment variable"
    path_value = env.get(AUTH_TOKEN_PATH_VAR, "").strip()
    if path_value:
        return f"{AUTH_TOKEN_PATH_VAR}={path_value}" if Path(path_value).expanduser().is_file() else None
    default = (home or Path.home()) / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


def prepare_auth_env(environ=None, home: Path | None = None) -> str | None:
    """Turn Ray token auth on for this driver when a token is available and RAY_AUTH_MODE is unset.

    Ray enables it by itself only for ``address="auto"``; a driver given an explicit address (or
    RAY_ADDRESS) would otherwise connect without its token and be refused. An explicit
    ``RAY_AUTH_MODE`` is respected. Returns the token's source (never the token) when token mode is on.
    """
    env = os.environ if environ is None else environ
    source = auth_token_source(env, home)
    if env.get(AUTH_MODE_VAR):
        return source if env[AUTH_MODE_VAR].lower() == "token" else None
    if source is None:
        return None
    env[AUTH_MODE_VAR] = "token"
    if env is os.environ:
        _refresh_ray_config()
    return source


def _refresh_ray_config() -> None:
    """Make an already-imported Ray re-read RAY_AUTH_MODE (Ray does the same when it enables auth)."""
    try:
        from ray._raylet import Config

        Config.initialize("")
    except Exception:  # older/newer Ray without this hook reads the variable at init
        pass


def is_auth_failure(exc: BaseException) -> bool:
    """True when ``exc`` says Ray refused the connection for token authentication."""
    if type(exc).__name__ == "AuthenticationError":
        return True
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(marker in text for marker in _AUTH_FAILURE_MARKERS)


def auth_failure_message(address: str | None, environ=None, home: Path | None = None) -> str:
    """What to do when the Ray cluster refuses this driver for token auth (names sources, never the token)."""
    env = os.environ if environ is None else environ
    source = auth_token_source(env, home)
    mode = env.get(AUTH_MODE_VAR) or "unset"
    have = f"the token is read from {source}" if source else "no token was found"
    return (
        f"the Ray cluster at {address or 'auto'} refused the connection: token authentication failed "
        f"({AUTH_MODE_VAR} is {mode}; {have}). {_AUTH_INSTRUCTIONS}"
    )


_AUTH_INSTRUCTIONS = (
    f"Set {AUTH_MODE_VAR}=token and give this process the cluster's token: write it to "
    f"~/.ray/auth_token, or point {AUTH_TOKEN_PATH_VAR} at a file holding it, or set {AUTH_TOKEN_VAR}. "
    "On the head machine `ray get-auth-token` prints the token; if it differs from yours, copy that "
    "one (a token mismatch is refused the same way)."
)


def _python_path_env() -> dict:
    """PYTHONPATH for workers so user functions under data/functions import on local workers."""
    root = Path(__file__).resolve().parent.parent
    extra = [str(root), str(root / "data" / "functions")]
    extra += [p for p in os.environ.get("WORKBENCH_PYTHONPATH", "").split(os.pathsep) if p]
    current = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": os.pathsep.join(extra + ([current] if current else []))}


def connect(address: str | None = None, *, num_cpus: int | None = None) -> ClusterInfo:
    """Connect to (or start) Ray once per process; returns what was connected to.

    ``address``: explicit address > ``RAY_ADDRESS`` > a local head started by ``make run``
    (``auto``) > a fresh local cluster. Raises :class:`ClusterError` with a hint when unreachable.
    """
    global _INFO
    with _LOCK:
        if _INFO is not None and ray.is_initialized():
            return _INFO
        address = address or os.environ.get("RAY_ADDRESS") or None
        runtime_env = {"env_vars": _python_path_env()}
        extra = os.environ.get("WORKBENCH_RAY_RUNTIME_ENV")
        if extra:
            import json

            runtime_env.update(json.loads(extra))
        kwargs = dict(log_to_driver=False, runtime_env=runtime_env, ignore_reinit_error=True)
        prepare_auth_env()
        try:
            if address and address not in ("local", "auto"):
                if not _reachable(address):
                    raise ClusterError(
                        f"cannot reach the Ray cluster at {address}. Check that it is running "
                        f"(`ray status --address {address}`) or unset RAY_ADDRESS to use a local Ray."
                    )
                os.environ.pop("RAY_ADDRESS", None) if address.startswith("ray://") else None
                add_shipped_code(runtime_env, existing_cluster=True)  # user functions reach other nodes
                ray.init(address=address, **kwargs)
                mode = "existing"
            elif address == "auto" or (address is None and local_head_running()):
                add_shipped_code(runtime_env, existing_cluster=True)
                ray.init(address="auto", **kwargs)
                mode = "existing"
            else:
                add_shipped_code(runtime_env, existing_cluster=False)  # only with WORKBENCH_SHIP_CODE=1
                ray.init(
                    address="local",
                    num_cpus=num_cpus or _default_cpus(),
                    object_store_memory=_object_store_bytes(),
                    include_dashboard=True,
                    dashboard_host="127.0.0.1",
                    **kwargs,
                )
                mode = "local"
        except ClusterError:
            raise
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError…
            if is_auth_failure(exc):
                raise ClusterError(auth_failure_message(address)) from None
            mismatch = version_mismatch_message(exc, address)
            if mismatch:
                raise ClusterError(mismatch) from None
            first_line = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            if address and address != "local" and "failed to connect to ray cluster" in first_line.lower():
                # A reachable GCS that keeps refusing the driver: with Ray 2.60 that is token auth
                # (the InvalidAuthToken detail only reaches the log, not the exception).
                raise ClusterError(
                    f"could not connect to Ray ({address}): {first_line}. If that cluster uses token "
                    f"authentication: {_AUTH_INSTRUCTIONS}"
                ) from None
            raise ClusterError(
                f"could not start or connect to Ray ({address or 'local'}): {first_line}. Check for a "
                "stale local Ray (stop it by its own PIDs: `ray stop` stops every Ray of this user), "
                "or set RAY_ADDRESS to a running cluster."
            ) from None
        _INFO = _describe(mode)
        return _INFO


def _describe(mode: str) -> ClusterInfo:
    ctx = ray.get_runtime_context()
    url = None
    try:
        url = ctx.dashboard_url or None  # may be absent in some versions
    except Exception:
        pass
    if not url:
        try:
            import ray._private.worker as w

            url = w._global_node.webui_url if w._global_node is not None else None
        except Exception:
            url = None
    if url and not url.startswith("http"):
        url = "http://" + url
    try:
        gcs = ctx.gcs_address
    except Exception:
        gcs = "local"
    return ClusterInfo(
        address=gcs,
        mode=mode,
        dashboard_url=url,
        resources=dict(ray.cluster_resources()),
        nodes=len([n for n in ray.nodes() if n.get("Alive")]),
    )


def info() -> ClusterInfo | None:
    """What this process is connected to, or None."""
    if _INFO is not None and ray.is_initialized():
        try:
            return _describe(_INFO.mode)
        except Exception:
            return _INFO
    return None


def is_connected() -> bool:
    return ray.is_initialized()


def local_head_running() -> bool:
    """True when a head started by ``ray start`` on this machine answers."""
    addr_file = Path("/tmp/ray/ray_current_cluster")
    if not addr_file.exists():
        return False
    addr = addr_file.read_text().strip()
    return bool(addr) and _reachable(addr, timeout=1.0)


def ensure_local_head() -> str:
    """Start a detached local head unless RAY_ADDRESS or a running head is reachable (``make run``)."""
    env_addr = os.environ.get("RAY_ADDRESS")
    if env_addr:
        if not _reachable(env_addr):
            raise ClusterError(f"RAY_ADDRESS={env_addr} is not reachable; start that cluster or unset RAY_ADDRESS")
        return f"using the Ray cluster at {env_addr}"
    if local_head_running():
        return "a local Ray head is already running"
    ray_bin = str(Path(sys.executable).with_name("ray"))
    cmd = [
        ray_bin,
        "start",
        "--head",
        f"--num-cpus={_default_cpus()}",
        f"--object-store-memory={_object_store_bytes()}",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        "--disable-usage-stats",
    ]
    env = dict(os.environ, **_python_path_env())
    prepare_auth_env(env)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        if is_auth_failure(RuntimeError(proc.stderr or proc.stdout)):
            raise ClusterError(auth_failure_message("local head", env))
        raise ClusterError("`ray start --head` failed: " + (proc.stderr or proc.stdout).strip()[-800:])
    record = record_started_head()
    where = f"; recorded in {head_record_file()}" if record else ""
    return f"started a local Ray head (dashboard on http://127.0.0.1:8265){where}"


# ----------------------------------------------------------------------------- the head make run started
def head_record_file() -> Path:
    """Where ``ensure`` records the head it started: ``WORKBENCH_RAY_HEAD_FILE`` or ``.run/ray-head.json``."""
    configured = os.environ.get("WORKBENCH_RAY_HEAD_FILE")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / ".run" / "ray-head.json"


def _ray_temp_root() -> Path:
    return Path(os.environ.get("RAY_TMPDIR") or "/tmp") / "ray"


def _pids_with(marker: str) -> list[int]:
    """PIDs of this user's processes whose command line contains ``marker`` (read from /proc)."""
    pids = []
    me = os.getuid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != me:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


def record_started_head(session_dir: Path | None = None, address: str | None = None) -> dict | None:
    """Record the head just started (default: Ray's ``session_latest`` and ``ray_current_cluster``) with the
    PIDs of its processes, so that :func:`stop_started_head` stops it and nothing else."""
    root = _ray_temp_root()
    session = Path(session_dir) if session_dir else (root / "session_latest").resolve()
    if not session.name.startswith("session_"):
        return None
    if address is None:
        addr_file = root / "ray_current_cluster"
        address = addr_file.read_text().strip() if addr_file.exists() else None
    record = {
        "session_dir": str(session),
        "address": address,
        "pids": _pids_with(session.name),
        "started_at": time.time(),
    }
    path = head_record_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return record


def stop_started_head(grace_s: float = 15.0) -> str:
    """Stop the Ray head recorded by ``ensure`` (``make ray-down``): its processes get SIGTERM, then SIGKILL
    after ``grace_s``. Other Ray clusters of the machine (other users, tests, ``ray start`` by hand) are
    left alone. Returns what was done."""
    path = head_record_file()
    if not path.exists():
        return f"no Ray head started by `make run` is recorded ({path}): nothing stopped"
    record = json.loads(path.read_text())
    session = Path(record["session_dir"]).name
    pids = set(_pids_with(session))  # the head's processes and its workers carry the session in their command line
    for pid in record.get("pids") or []:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if session.encode() in cmdline:  # still that head's process (a PID can be reused)
            pids.add(pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if Path(f"/proc/{p}").exists() and not _is_zombie(p)}
        time.sleep(0.2)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    path.unlink(missing_ok=True)
    return f"stopped the Ray head of {session} ({len(pids)} process(es)); other Ray clusters were left alone"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def shutdown() -> None:
    global _INFO
    with _LOCK:
        if ray.is_initialized():
            ray.shutdown()
        _INFO = None


if __name__ == "__main__":  # pragma: no cover - used by `make run`
    if len(sys.argv) > 1 and sys.argv[1] == "ensure":
        try:
            print(ensure_local_head())
        except ClusterError as exc:
            print(f"warning: {exc}; the app will start its own Ray in the background", file=sys.stderr)
    elif len(sys.argv) > 1 and sys.argv[1] == "stop":
        print(stop_started_head())
