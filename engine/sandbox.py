"""What workflows may touch: code, files and network hosts (see docs/security.md).

A workflow is data that anyone who can reach the app or the API may write, so everything it names is
checked here against folders and hosts an administrator chose:

* **Functions** (``python`` states): only modules whose file lies inside a *function folder*:
  ``data/functions`` plus ``WORKBENCH_FUNCTION_DIRS`` / ``WORKBENCH_PYTHONPATH`` (``os.pathsep``
  separated) plus ``function_dirs`` in the settings file. Standard-library and installed modules
  (``os``, ``subprocess``, ``builtins`` …) are never callable.
* **Files** (SQL ``files``, sub-workflow paths): inside the calling workflow file's folder tree,
  ``data/`` or ``WORKBENCH_DATA_DIRS`` / ``data_dirs``.
* **Hosts** (``http`` states): the binding's ``allowed_hosts`` for public hosts; loopback, private,
  link-local and other internal addresses only when an administrator lists the host in
  ``WORKBENCH_HTTP_ALLOWED_HOSTS`` / ``http_allowed_hosts``.

The settings file is ``data/security.toml`` (``WORKBENCH_SECURITY_FILE`` names another one).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
FUNCTIONS_DIR = DATA_DIR / "functions"

DEFAULT_HTTP_MAX_BYTES = 5_000_000
DEFAULT_HTTP_MAX_REDIRECTS = 5
DEFAULT_SQL_TIMEOUT_S = 300.0
DEFAULT_SQL_MAX_ROWS = 10_000
DEFAULT_SQL_MAX_TABLE_ROWS = 10_000_000

_settings_cache: dict[str, tuple[float, dict]] = {}


# A workflow asked for code, a file or a host outside what the administrator allows. Plain
# PermissionError, so a state's error_type reads 'PermissionError' and recovery treats it as permanent.
SandboxError = PermissionError


def settings_file() -> Path:
    """The administrator's settings file (it need not exist)."""
    return Path(os.environ.get("WORKBENCH_SECURITY_FILE") or DATA_DIR / "security.toml")


def admin_settings() -> dict:
    """The settings file's contents ({} when absent); re-read when the file changes."""
    path = settings_file()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _settings_cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SandboxError(f"the security settings file {path} is unreadable: {type(exc).__name__}") from None
    _settings_cache[str(path)] = (mtime, data)
    return data


def setting(name: str, default):
    """One value of the settings file, or ``default``."""
    return admin_settings().get(name, default)


def _env_dirs(*names: str) -> list[str]:
    return [p for n in names for p in os.environ.get(n, "").split(os.pathsep) if p.strip()]


def _unique_resolved(paths) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        r = Path(p).expanduser().resolve()
        if r not in out:
            out.append(r)
    return out


def function_dirs() -> list[Path]:
    """Folders whose modules ``python`` states may call (data/functions first)."""
    return _unique_resolved(
        [
            FUNCTIONS_DIR,
            *_env_dirs("WORKBENCH_FUNCTION_DIRS", "WORKBENCH_PYTHONPATH"),
            *(setting("function_dirs", []) or []),
        ]
    )


def data_dirs() -> list[Path]:
    """Folders every workflow may read data files and sub-workflows from (data/ first)."""
    return _unique_resolved([DATA_DIR, *_env_dirs("WORKBENCH_DATA_DIRS"), *(setting("data_dirs", []) or [])])


def inside(path: Path, roots) -> bool:
    """Whether ``path`` (resolved, symlinks followed) lies in one of ``roots``."""
    p = Path(path).resolve()
    return any(p == r or r in p.parents for r in _unique_resolved(roots))


# ----------------------------------------------------------------------------------------- functions
def _locate_module(module: str, roots) -> Path | None:
    """The file ``import module`` would load from the first of ``roots`` holding it (no import)."""
    parts = module.split(".")
    for root in roots:
        base = Path(root).joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py", base):
            if candidate.exists() and (candidate.suffix == ".py" or candidate.is_dir()):
                return candidate
    return None


def function_problem(ref: str) -> tuple[str, str] | None:
    """Why a ``module:function`` reference may not be called: ``("error"|"warning", message)`` or None.

    Standard-library, built-in and installed modules, and modules found outside the function folders
    are errors; a module found nowhere is a warning (the run fails until it is added).
    """
    module, _, _attr = ref.partition(":")
    top = module.split(".")[0]
    allowed = function_dirs()
    where = ", ".join(str(d) for d in allowed)
    if top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        return (
            "error",
            f"function '{ref}' is refused: '{top}' is a Python standard-library module; python "
            f"states may only call functions from the allowed function folders ({where})",
        )
    loaded_file = getattr(sys.modules.get(module), "__file__", None)
    found: Path | None = Path(loaded_file) if loaded_file else None
    if found is None:
        roots = [*allowed, *(d.parent for d in allowed), *(p or os.getcwd() for p in sys.path)]
        found = _locate_module(module, roots)
    if found is None:
        return (
            "warning",
            f"function '{ref}': module '{module}' is not in the allowed function folders "
            f"({where}); the state fails until it is added there",
        )
    if not inside(found, allowed):
        return (
            "error",
            f"function '{ref}' is refused: module '{module}' ({found}) is outside the allowed "
            f"function folders ({where})",
        )
    return None


def check_loaded_function(ref: str, module, extra_dirs=()) -> None:
    """Refuse a function whose imported module's file is outside the function folders."""
    file = getattr(module, "__file__", None)
    allowed = [*function_dirs(), *extra_dirs]
    if not file or not inside(Path(file), allowed):
        raise SandboxError(
            f"function '{ref}' is refused: its module is outside the allowed function folders "
            f"({', '.join(str(d) for d in _unique_resolved(allowed))})"
        )


# ----------------------------------------------------------------------------------------- paths
def workflow_root(source_path: str | None) -> Path | None:
    """The folder of a workflow file on disk (None for workflows that have no file)."""
    if not source_path:
        return None
    p = Path(source_path)
    if not p.is_absolute() or not p.is_file():
        return None
    return p.resolve().parent


def allowed_file_roots(workflow_dir: str | None) -> list[Path]:
    """Where a workflow's data files and sub-workflows may be: its folder tree, data/, admin folders."""
    roots = data_dirs()
    if workflow_dir and Path(workflow_dir).is_absolute() and Path(workflow_dir).is_dir():
        roots.insert(0, Path(workflow_dir).resolve())
    return roots


def _store_files(path: Path) -> bool:
    """Whether ``path`` is the workbench's own store (database, WAL, log segments) or security settings."""
    p = path.resolve()
    if p == settings_file().resolve():
        return True
    dbs = {DATA_DIR / "workbench.duckdb"}
    if os.environ.get("WORKBENCH_DB"):
        dbs.add(Path(os.environ["WORKBENCH_DB"]).expanduser())
    for db in (d.resolve() for d in dbs):
        log_dir = db.parent / f"{db.stem}_log"
        if (p.parent == db.parent and p.name.startswith(db.name)) or p == log_dir or log_dir in p.parents:
            return True
    return False


def resolve_allowed_file(ref: str, workflow_dir: str | None, what: str = "file", extra_bases=()) -> Path:
    """The existing file ``ref`` names, looked up next to the workflow, under data/ and ``extra_bases``.

    Raises :class:`SandboxError` when the path leads outside the allowed folders and
    ``FileNotFoundError`` when it names nothing; messages name the path, never a file's contents.
    """
    roots = allowed_file_roots(workflow_dir)
    p = Path(ref).expanduser()
    if p.is_absolute():
        candidates = [p]
    else:
        bases = [Path(workflow_dir)] if workflow_dir and Path(workflow_dir).is_absolute() else []
        bases += [*extra_bases, *data_dirs()]
        candidates = [b / p for b in bases]
    outside = None
    for c in candidates:
        if not c.exists():
            continue
        if inside(c, roots):
            if _store_files(c):
                raise SandboxError(f"{what} '{ref}' is the workbench's own store or settings; workflows cannot read it")
            if not c.is_file():
                raise FileNotFoundError(f"{what} '{ref}' is not a file")
            return c.resolve()
        outside = outside or c
    if outside is not None or (p.is_absolute() and not inside(p, roots)) or ".." in p.parts:
        raise SandboxError(
            f"{what} '{ref}' is outside the allowed folders "
            f"({', '.join(str(r) for r in roots)}); an administrator can add folders with "
            "WORKBENCH_DATA_DIRS or data_dirs in the security settings"
        )
    raise FileNotFoundError(f"{what} '{ref}' not found (looked in: {', '.join(str(c.parent) for c in candidates)})")


# ----------------------------------------------------------------------------------------- hosts
def admin_http_hosts() -> set[str]:
    """Hosts an administrator allows, internal addresses included."""
    env = [h.strip().lower() for h in os.environ.get("WORKBENCH_HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return set(env) | {str(h).lower() for h in (setting("http_allowed_hosts", []) or [])}


def _host_listed(host: str, hosts: set[str]) -> bool:
    host = host.lower().strip("[]")
    return any(host == h.strip("[]") or (h.startswith("*.") and host.endswith(h[1:])) for h in hosts)


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_http_host(host: str, port: int | None, binding_hosts) -> None:
    """Refuse a host that is not allowlisted, or that resolves to an internal address without an
    administrator listing it. Raises :class:`SandboxError`."""
    admin = admin_http_hosts()
    hosts = admin | {str(h).lower() for h in (binding_hosts or ())}
    if not host or not _host_listed(host, hosts):
        raise SandboxError(
            f"host '{host}' is not in the allowlist ({', '.join(sorted(hosts)) or 'empty'}); add it "
            "to allowed_hosts in the state binding (public hosts) or ask an administrator "
            "(WORKBENCH_HTTP_ALLOWED_HOSTS)"
        )
    if _host_listed(host, admin):
        return
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port or 80, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = str(info[4][0])
        if _internal(address):
            raise SandboxError(
                f"host '{host}' resolves to the internal address {address} (loopback, private "
                "or link-local); only an administrator can allow it (WORKBENCH_HTTP_ALLOWED_HOSTS)"
            )
