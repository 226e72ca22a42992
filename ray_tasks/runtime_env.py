"""The runtime environment a driver gives its Ray job: user functions shipped to every node (issue 17).

``WORKBENCH_SHIP_CODE``: ``auto`` (default) ships when the driver connects to an existing cluster (an
address, ``RAY_ADDRESS``, or a head started by ``make run``), ``1`` always, ``0`` never (the nodes then
need the functions on their own ``PYTHONPATH``, e.g. baked into the image). What is shipped and how the
worker uses it: :mod:`engine.code_bundle`.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from engine.code_bundle import SHIPPED_PACKAGE, stage_function_dirs

SHIP_CODE_VAR = "WORKBENCH_SHIP_CODE"
_STAGED: list[Path] = []


def ship_code_wanted(existing_cluster: bool, environ=None) -> bool:
    """Whether this connection ships the function folders (``WORKBENCH_SHIP_CODE``: auto | 1 | 0)."""
    value = ((os.environ if environ is None else environ).get(SHIP_CODE_VAR) or "auto").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return existing_cluster


def add_shipped_code(runtime_env: dict, existing_cluster: bool) -> Path | None:
    """Stage the function folders and add them to ``runtime_env['py_modules']``; returns the staged folder."""
    if not ship_code_wanted(existing_cluster):
        return None
    from engine.sandbox import function_dirs

    root = Path(tempfile.mkdtemp(prefix="wb-ship-"))
    _STAGED.append(root)
    staged = stage_function_dirs(function_dirs(), root)
    if staged is None:
        return None
    runtime_env["py_modules"] = [*runtime_env.get("py_modules", []), str(staged)]
    return staged


@atexit.register
def _remove_staged() -> None:
    for root in _STAGED:
        shutil.rmtree(root, ignore_errors=True)


_WORKER_READY = False
_SHIPPED_DIR: str | None = None


def use_shipped_code() -> str | None:
    """On a worker: put the shipped functions on ``sys.path`` (after local folders) and among the allowed
    function folders; returns their folder, or None when this job shipped none. Once per process."""
    global _WORKER_READY, _SHIPPED_DIR
    if _WORKER_READY:
        return _SHIPPED_DIR
    _WORKER_READY = True
    try:
        module = __import__(SHIPPED_PACKAGE)
    except ImportError:
        return None
    folder = str(Path(next(iter(module.__path__))).resolve())
    if folder not in sys.path:
        sys.path.append(folder)
    dirs = [d for d in os.environ.get("WORKBENCH_FUNCTION_DIRS", "").split(os.pathsep) if d]
    os.environ["WORKBENCH_FUNCTION_DIRS"] = os.pathsep.join([*dirs, folder])
    _SHIPPED_DIR = folder
    return folder


def version_mismatch_message(exc: BaseException, address: str | None) -> str | None:
    """A one-paragraph error for Ray's "Version mismatch" refusal (driver vs cluster Ray/Python), or None.

    Ray's own message spans lines; the connection error keeps only the first, which would drop the
    versions. This names both sides and what to do."""
    text = str(exc)
    if "version mismatch" not in text.lower():
        return None
    found = re.findall(r"Ray:\s*(\S+)\s+Python:\s*(\S+)", text)
    if len(found) >= 2:
        (cluster_ray, cluster_py), (mine_ray, mine_py) = found[0], found[1]
        sides = (
            f"the cluster runs Ray {cluster_ray} on Python {cluster_py}, this driver Ray {mine_ray} on Python {mine_py}"
        )
    else:
        sides = " ".join(text.split())[:300]
    return (
        f"the Ray cluster at {address or 'auto'} refused this driver: version mismatch ({sides}). The driver "
        "must use the same Ray version and Python minor version as the cluster: run it from the cluster's "
        "image (the service in docker-compose.yml / deploy/kuberay, or `ray job submit`), see docs/deploy.md"
    )
