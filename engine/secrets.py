"""Secrets for workflow bindings: ``{secret:NAME}`` in URLs, headers, bodies and params.

A reference is resolved on the worker, when the state runs, from (first match wins):

1. the environment variable ``WORKBENCH_SECRET_<NAME>``;
2. the ``[workbench.secrets]`` table of ``.streamlit/secrets.toml`` (current folder, then the repository);
3. the user's secrets file ``WORKBENCH_SECRETS_FILE`` (default ``~/.config/workbench/secrets.toml``),
   top-level ``NAME = "value"`` keys or a ``[secrets]`` table. A file that the group or others may
   read is refused.

Values are never stored: bindings keep the reference, and :func:`redact` replaces any resolved value
in error texts and results with ``[redacted:NAME]``. No function here puts a value in a message.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from engine.errors import WorkbenchError

ENV_PREFIX = "WORKBENCH_SECRET_"
FILE_ENV = "WORKBENCH_SECRETS_FILE"
REFERENCE = re.compile(r"\{secret:([A-Za-z_][A-Za-z0-9_]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MIN_REDACT_LENGTH = 4  # shorter values would garble ordinary text when redacted
_REPO_ROOT = Path(__file__).resolve().parent.parent
_file_cache: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


class SecretError(WorkbenchError):
    """A secret is missing or its source cannot be used; the message names it, never its value."""


def user_secrets_file() -> Path:
    """The user's secrets file: ``WORKBENCH_SECRETS_FILE`` or ``~/.config/workbench/secrets.toml``."""
    raw = os.environ.get(FILE_ENV, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".config" / "workbench" / "secrets.toml"


def streamlit_secrets_files() -> list[Path]:
    """The ``.streamlit/secrets.toml`` files read, in order: the current folder's, then the repository's."""
    out: list[Path] = []
    for base in (Path.cwd(), _REPO_ROOT):
        p = (base / ".streamlit" / "secrets.toml").resolve()
        if p not in out:
            out.append(p)
    return out


def where_to_define(name: str) -> str:
    """The three places a secret can be defined, for error messages."""
    return (
        f'set the environment variable {ENV_PREFIX}{name}, add {name} = "..." under [workbench.secrets] '
        f"in .streamlit/secrets.toml, or add it to {user_secrets_file()} "
        f"({FILE_ENV}; readable by you only: chmod 600)"
    )


def _read_toml(path: Path, *, private: bool) -> dict:
    try:
        st = path.stat()
    except OSError:
        return {}
    if private and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"the secrets file {path} can be read by other users (mode {stat.S_IMODE(st.st_mode):o}); "
            f"it is not used until you run: chmod 600 {path}"
        )
    key = str(path)
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _file_cache.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # the message of a TOML error can quote the line, so name only the file and the position
        where = f" ({str(exc).split('(')[-1]}" if isinstance(exc, tomllib.TOMLDecodeError) else ""
        raise SecretError(f"the secrets file {path} cannot be read as TOML{where.rstrip()}") from None
    _file_cache[key] = (stamp, data)
    return data


def _strings(table: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        return {}
    return {str(k): str(v) for k, v in table.items() if NAME.fullmatch(str(k)) and isinstance(v, (str, int, float))}


def _sources(strict: bool = True) -> Iterator[tuple[str, dict[str, str]]]:
    """Every source with its secrets, in lookup order (environment first), read lazily.

    A source that cannot be used raises :class:`SecretError` when reached, or is skipped when not ``strict``.
    """
    env = {
        k[len(ENV_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX) and len(k) > len(ENV_PREFIX)
    }
    yield "environment", env
    for path in streamlit_secrets_files():
        try:
            data = _read_toml(path, private=False)
        except SecretError:
            if strict:
                raise
            continue
        table = (data.get("workbench") or {}).get("secrets") if isinstance(data.get("workbench"), dict) else None
        yield str(path), _strings(table)
    path = user_secrets_file()
    try:
        data = _read_toml(path, private=True)
    except SecretError:
        if strict:
            raise
        return
    table = data.get("secrets") if isinstance(data.get("secrets"), dict) else data
    yield str(path), _strings(table)


def _lookup(name: str) -> tuple[str, str] | None:
    for source, values in _sources():
        if name in values:
            return source, values[name]
    return None


def get_secret(name: str) -> str:
    """The value of secret ``name``; :class:`SecretError` (naming where to define it) when unknown."""
    hit = _lookup(name)
    if hit is None:
        raise SecretError(f"secret '{name}' is not defined: {where_to_define(name)}")
    return hit[1]


def list_secrets() -> list[dict[str, str]]:
    """Names and the source each resolves from (first source wins); never values."""
    seen: dict[str, str] = {}
    for source, values in _sources():
        for name in values:
            seen.setdefault(name, source)
    return [{"name": n, "source": seen[n]} for n in sorted(seen)]


def find_references(obj: Any) -> set[str]:
    """Names of every ``{secret:NAME}`` in a string, or in the keys/values of nested dicts and lists."""
    found: set[str] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(REFERENCE.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def check_available(names: Iterable[str]) -> None:
    """Raise :class:`SecretError` naming every secret in ``names`` that no source defines."""
    wanted = sorted(set(names))
    if not wanted:
        return
    missing = list(wanted)
    for _source, values in _sources():
        missing = [n for n in missing if n not in values]
        if not missing:
            return
    if missing:
        listed = ", ".join(f"'{n}'" for n in missing)
        first = missing[0]
        raise SecretError(
            f"secret{'s' if len(missing) > 1 else ''} {listed} {'are' if len(missing) > 1 else 'is'} not defined: "
            f"{where_to_define(first)}"
        )


def resolve(obj: Any) -> Any:
    """``obj`` with every ``{secret:NAME}`` in its strings replaced by the value (dict keys untouched)."""
    if isinstance(obj, str):
        if "{secret:" not in obj:
            return obj
        return REFERENCE.sub(lambda m: get_secret(m.group(1)), obj)
    if isinstance(obj, dict):
        return {k: resolve(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(resolve(v) for v in obj)
    return obj


def _forms(value: str) -> set[str]:
    """The ways a value shows up in texts: raw, URL-encoded, JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value), json.dumps(value)[1:-1]}
    return {f for f in forms if len(f) >= MIN_REDACT_LENGTH}


_known_cache: dict[str, tuple[tuple, list[tuple[str, str]]]] = {}
_REPO_SECRETS = os.path.join(_REPO_ROOT, ".streamlit", "secrets.toml")


def _sources_stamp() -> tuple:
    """What the known secret values depend on: the prefixed variables and each file's path and stat
    (redacting every state's outcome re-read all sources: ~1 ms per state on a Ray worker).

    Checked for every outcome, so it is kept cheap: the environment is compared with a copy of it as
    it was last time (one C-level comparison) and read again only when it changed; a file named twice
    (the working directory is the repository) is looked at once."""
    global _env_seen
    raw = getattr(os.environ, "_data", None)  # CPython's encoded mapping: no decoding of every variable
    seen = _env_seen
    if isinstance(raw, dict) and seen is not None and raw == seen[0]:
        env, user = seen[1], seen[2]
    else:
        copy = dict(raw) if isinstance(raw, dict) else None
        env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIX)))
        user = os.path.expanduser(os.environ.get(FILE_ENV, "").strip() or "~/.config/workbench/secrets.toml")
        _env_seen = (copy, env, user) if copy is not None else None
    paths = dict.fromkeys((os.path.join(os.getcwd(), ".streamlit", "secrets.toml"), _REPO_SECRETS, user))
    return env, tuple(_stat_stamp(path) for path in paths)


_env_seen: tuple[dict, tuple, str] | None = None  # (copy of the environment, its prefixed variables, user file)


def _stat_stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (path,)
    return (path, st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino)


def _known_values() -> list[tuple[str, str]]:
    """(form, name) of every secret value, longest first so a value inside another is not cut (cached
    while the variables and files they come from are unchanged)."""
    stamp = _sources_stamp()
    hit = _known_cache.get("values")
    if hit is not None and hit[0] == stamp:
        return hit[1]
    pairs: dict[str, str] = {}
    for _source, values in reversed(list(_sources(strict=False))):  # the first source wins on duplicates
        for name, value in values.items():
            for form in _forms(value):
                pairs[form] = name
    known = sorted(pairs.items(), key=lambda p: -len(p[0]))
    _known_cache["values"] = (stamp, known)
    return known


def redact(obj: Any, values: list[tuple[str, str]] | None = None) -> Any:
    """``obj`` (text, dict, list) with every known secret value replaced by ``[redacted:NAME]``.

    Dict keys are redacted too. ``values``: (value, name) pairs to use instead of every source's secrets.
    """
    if values is None and not _has_long_text(obj):  # nothing a secret could hide in: skip the sources
        return obj
    pairs = _known_values() if values is None else sorted(values, key=lambda p: -len(p[0]))
    pairs = [p for p in pairs if len(p[0]) >= MIN_REDACT_LENGTH]
    if not pairs:
        return obj
    return _redact(obj, pairs)


def _has_long_text(obj: Any, depth: int = 0) -> bool:
    """Whether ``obj`` holds a text (or a dict key) of at least :data:`MIN_REDACT_LENGTH` characters:
    only such a text can contain a known value's form. Outcomes of numbers, flags and short words
    (most states' updates) need no look-up of the secret sources (~20 us per state on a worker)."""
    if isinstance(obj, str):
        return len(obj) >= MIN_REDACT_LENGTH
    if depth > 50:  # deeply nested: let the full redaction walk it
        return True
    if isinstance(obj, dict):
        return any(_has_long_text(k, depth + 1) or _has_long_text(v, depth + 1) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return any(_has_long_text(v, depth + 1) for v in obj)
    return False


def _redact(obj: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(obj, str):
        for value, name in pairs:
            if value in obj:
                obj = obj.replace(value, f"[redacted:{name}]")
        return obj
    if isinstance(obj, dict):
        return {_redact(k, pairs): _redact(v, pairs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact(v, pairs) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_redact(v, pairs) for v in obj)
    return obj


def contains_secret(obj: Any) -> bool:
    """Whether any known secret value appears in ``obj`` (used before storing user-visible text)."""
    return redact(obj) != obj
