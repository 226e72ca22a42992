"""Start the workbench service in the background for ``make run`` (and stop that one only).

``python -m engine.service.launcher ensure [--host H] [--port P] [-- SERVE OPTIONS]``: when a workbench service already
answers ``/health`` at the address, nothing is started. Otherwise ``workbench serve`` is started
detached, its pid in ``.run/service-P.pid`` and its log in ``.run/service-P.log`` (``WORKBENCH_RUN_DIR``
overrides ``.run``), and the command returns once it answers. Something else listening on the
port is an error (nothing is killed).

``… stop [--port P]``: stops the service this launcher started (the pid in its file, and only if
that process is still a ``workbench serve`` of this user). ``… status``: prints what answers.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def run_dir() -> Path:
    d = Path(os.environ.get("WORKBENCH_RUN_DIR") or REPO / ".run")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def service_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """A workbench service answers ``/health`` there."""
    try:
        r = httpx.get(_url(host, port) + "/health", timeout=timeout)
        return r.status_code == 200 and r.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _pid_file(port: int) -> Path:
    return run_dir() / f"service-{port}.pid"


def _is_our_service(pid: int) -> bool:
    """The process exists, belongs to this user and is a ``workbench serve``."""
    try:
        os.kill(pid, 0)
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (ProcessLookupError, PermissionError, FileNotFoundError, OSError):
        return False
    return b"engine.cli" in cmd and b"serve" in cmd


def ensure(host: str, port: int, wait_s: float = 120.0, serve_args: list[str] | None = None) -> int:
    """Start the service unless one answers (``serve_args``: more ``workbench serve`` options); 0 when
    one answers at the end."""
    url = _url(host, port)
    if service_answers(host, port):
        print(f"workbench service already answers at {url}", file=sys.stderr)
        return 0
    if port_taken(host, port):
        print(
            f"error: something else listens on {host}:{port} and is not a workbench service; "
            f"choose another port (SERVICE_PORT=…)",
            file=sys.stderr,
        )
        return 1
    log_path = run_dir() / f"service-{port}.log"
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                "--log-format",
                "text",
                *(serve_args or []),
            ],
            cwd=REPO,
            stdin=devnull,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )  # outlives `make run` (and its Ctrl-C)
    _pid_file(port).write_text(str(proc.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"error: the workbench service exited ({proc.returncode}); see {log_path}", file=sys.stderr)
            return 1
        if service_answers(host, port):
            print(f"workbench service started at {url} (pid {proc.pid}, log {log_path})", file=sys.stderr)
            return 0
        time.sleep(0.3)
    print(f"error: the workbench service did not answer at {url} within {wait_s:g} s; see {log_path}", file=sys.stderr)
    return 1


def stop(port: int, timeout_s: float = 20.0) -> int:
    """Stop the service started by :func:`ensure` on ``port`` (none other)."""
    pf = _pid_file(port)
    try:
        pid = int(pf.read_text().strip())
    except (OSError, ValueError):
        print(f"no service started by the launcher on port {port}", file=sys.stderr)
        return 0
    if not _is_our_service(pid):
        print(f"pid {pid} is not a workbench service of this user any more; nothing stopped", file=sys.stderr)
        pf.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _is_our_service(pid):
        time.sleep(0.2)
    if _is_our_service(pid):
        os.kill(pid, signal.SIGKILL)
    pf.unlink(missing_ok=True)
    print(f"stopped the workbench service (pid {pid})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.service.launcher", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["ensure", "stop", "status"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # after --: options of `workbench serve`
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.command == "ensure":
        return ensure(args.host, args.port, serve_args=extra)
    if args.command == "stop":
        return stop(args.port)
    up = service_answers(args.host, args.port)
    print(f"workbench service at {_url(args.host, args.port)}: {'answers' if up else 'not answering'}")
    return 0 if up else 1


if __name__ == "__main__":
    sys.exit(main())
