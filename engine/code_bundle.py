"""User functions shipped to Ray workers on other nodes (issue 17).

A driver connected to a Ray cluster cannot count on the workers of other nodes seeing its folders:
``data/functions`` and the administrator's function folders (:func:`engine.sandbox.function_dirs`) exist
on the driver's disk only. :func:`stage_function_dirs` copies their Python sources into one package
folder, ``wb_shipped_functions``, which the Ray connection (``ray_tasks/cluster.py``) hands to Ray as a
``py_modules`` entry of the job's runtime environment: Ray zips it, stores it in the cluster (GCS) and
unpacks it on every node before a worker of this driver starts. The worker then puts the unpacked
folder on ``sys.path`` and among its allowed function folders (``ray_tasks/tasks.py``), so
``module:function`` references resolve there exactly as on the driver.

Rules: only ``*.py`` files are shipped (data goes through SQL/files inputs); the first folder wins when
two hold the same module (the order of ``sys.path``); a folder that is a package (has
``__init__.py``) is also shipped under its own name, for references such as ``tests.engine.functions``;
the bundle is refused above :data:`MAX_BUNDLE_BYTES` (Ray's limit for a package is 100 MiB).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

SHIPPED_PACKAGE = "wb_shipped_functions"
MAX_BUNDLE_BYTES = 50 * 1024 * 1024
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages"}


class BundleTooLarge(ValueError):
    """The function folders hold more Python source than a runtime environment should carry."""


def _sources(root: Path) -> Iterable[tuple[Path, Path]]:
    """(file, path relative to root) of the Python sources under root (hidden and cache folders skipped)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = Path(dirpath) / name
                yield path, path.relative_to(root)


def stage_function_dirs(dirs: Iterable[Path], dest_root: Path) -> Path | None:
    """Copy the Python sources of ``dirs`` into ``dest_root/wb_shipped_functions``; returns that folder,
    or ``None`` when there is nothing to ship. Raises :class:`BundleTooLarge` above the limit."""
    dest = Path(dest_root) / SHIPPED_PACKAGE
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    total, copied = 0, 0
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        targets = [dest]
        if (folder / "__init__.py").is_file():  # a package: `<name>.module:function` references too
            targets.append(dest / folder.name)
        for target in targets:
            for src, rel in _sources(folder):
                out = target / rel
                if out.exists():  # an earlier folder holds this module: it wins, as on sys.path
                    continue
                total += src.stat().st_size
                if total > MAX_BUNDLE_BYTES:
                    raise BundleTooLarge(
                        f"the function folders hold more than {MAX_BUNDLE_BYTES // 2**20} MiB of Python "
                        f"source (at {src}); ship less code or install it on the cluster's nodes"
                    )
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, out)
                copied += 1
    if not copied:
        shutil.rmtree(dest)
        return None
    init = dest / "__init__.py"
    if not init.exists():
        init.write_text('"""User functions shipped by the workbench driver (engine/code_bundle.py)."""\n')
    return dest


def bundle_digest(folder: Path) -> str:
    """A short hash of a staged bundle (names and contents): the same code gives the same digest."""
    h = hashlib.sha256()
    for src, rel in _sources(folder):
        h.update(str(rel).encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]
