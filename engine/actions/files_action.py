"""``files`` action: read or write a CSV, Parquet or JSON file inside the allowed data folders.

```toml
[states.load_orders]
action = "files"
operation = "read"                   # default
path = "inbox/orders_{day}.csv"      # {name} placeholders from the context
into = "orders"                      # ctx["orders"] = list of row objects (JSON: the parsed value)

[states.save_report]
action = "files"
operation = "write"
path = "outbox/report_{day}.parquet"
from_key = "report_rows"             # the context key holding a list of row objects
into = "report_file"                 # ctx["report_file"] = {path, format, rows, bytes}
```

Reads look next to the workflow file, under data/ and the administrator's data folders
(engine.sandbox); writes go under data/ (relative paths) or an administrator's data folder, only with
a ``.csv``/``.parquet``/``.json`` name, and never over the workbench's own store. A path leading
elsewhere (``..``, an absolute path, a symlink out) is refused naming the path, never a file's content.
Limits: ``max_rows`` (default ``files_max_rows``, 10,000) and ``files_max_bytes`` (50 MB) — a larger
file is refused, never cut.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.actions.templating import fill

DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 50_000_000
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def _format(path: str, binding: dict) -> str:
    fmt = binding.get("format") or FORMATS.get(Path(path).suffix.lower())
    if fmt not in ("csv", "parquet", "json"):
        raise ValueError(f"cannot tell the format of '{path}': name it .csv, .parquet or .json, or set format")
    return fmt


def _limits(binding: dict) -> tuple[int, int]:
    from engine.sandbox import setting

    max_rows = int(binding.get("max_rows") or setting("files_max_rows", DEFAULT_MAX_ROWS))
    return max_rows, int(setting("files_max_bytes", DEFAULT_MAX_BYTES))


def _jsonable(v: Any) -> Any:
    from engine.actions.sql_action import _jsonable as plain

    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and v != v:  # NaN is not JSON
        return None
    return plain(v)


def _unreadable(ref: str, fmt: str, exc: Exception) -> ValueError:
    """A parse error without the file's content (parsers quote the offending line)."""
    return ValueError(f"file '{ref}' cannot be read as {fmt} ({type(exc).__name__})")


def read_file(ref: str, binding: dict, meta: dict) -> Any:
    """The rows (CSV/Parquet: list of objects) or the value (JSON) of an allowed file, within the limits."""
    from engine.actions.sql_action import resolve_path

    fmt = _format(ref, binding)
    path = resolve_path(ref, meta)
    max_rows, max_bytes = _limits(binding)
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"file '{ref}' is {size:,} bytes, over the limit of {max_bytes:,} (files_max_bytes)")
    if fmt == "json":
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _unreadable(ref, fmt, exc) from None
        if isinstance(value, list) and len(value) > max_rows:
            raise ValueError(f"file '{ref}' has more than {max_rows:,} rows (max_rows); refused rather than cut")
        return value
    try:
        if fmt == "csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(path)
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
    except Exception as exc:  # pyarrow's errors quote the content
        raise _unreadable(ref, fmt, exc) from None
    if table.num_rows > max_rows:
        raise ValueError(
            f"file '{ref}' has {table.num_rows:,} rows, over the limit of {max_rows:,} (max_rows); "
            'refused rather than cut (a sql state with output = "table" handles large files)'
        )
    return [_jsonable(row) for row in table.to_pylist()]


def write_target(ref: str, meta: dict) -> Path:
    """Where a write may go: a relative path under data/, an absolute one inside a data folder; never
    the store, never outside (``..`` and symlinks are followed before the check)."""
    from engine.sandbox import DATA_DIR, SandboxError, _store_files, data_dirs, inside

    p = Path(ref).expanduser()
    base = Path(meta["data_dir"]).resolve() if meta.get("data_dir") else DATA_DIR
    if not p.is_absolute() and p.parts[:1] == (base.name,):  # "data/outbox/x.csv", as reads accept it
        p = base.parent / p
    target = (p if p.is_absolute() else base / p).resolve()
    roots = list(dict.fromkeys([base, *data_dirs()]))
    if not inside(target, roots):
        raise SandboxError(
            f"cannot write '{ref}': it is outside the allowed folders ({', '.join(str(r) for r in roots)}); "
            "an administrator can add folders with WORKBENCH_DATA_DIRS or data_dirs in the security settings"
        )
    if _store_files(target) or target.suffix.lower() not in FORMATS:
        raise SandboxError(f"cannot write '{ref}': only .csv, .parquet and .json data files may be written")
    return target


def write_file(ref: str, rows: Any, binding: dict, meta: dict) -> dict:
    """Write ``rows`` to an allowed path (temp name, then rename); returns {path, format, rows, bytes}."""
    fmt = _format(ref, binding)
    max_rows, max_bytes = _limits(binding)
    if fmt != "json" and not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
        raise ValueError(f"writing {fmt} needs a list of objects (rows) in the context, got {type(rows).__name__}")
    count = len(rows) if isinstance(rows, list) else 1
    if count > max_rows:
        raise ValueError(f"{count:,} rows to write, over the limit of {max_rows:,} (max_rows)")
    target = write_target(ref, meta)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if fmt == "json":
            tmp.write_text(json.dumps(rows, ensure_ascii=False, default=str), encoding="utf-8")
        else:
            import pyarrow as pa

            table = pa.Table.from_pylist(rows)
            if fmt == "csv":
                import pyarrow.csv as pacsv

                pacsv.write_csv(table, tmp)
            else:
                import pyarrow.parquet as pq

                pq.write_table(table, tmp)
        size = tmp.stat().st_size
        if size > max_bytes:
            raise ValueError(f"the file to write is {size:,} bytes, over the limit of {max_bytes:,} (files_max_bytes)")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(target), "format": fmt, "rows": count, "bytes": size}


def run_files(binding: dict, ctx, meta: dict) -> dict:
    """Read into the context (``into``, default the state's name) or write ``ctx[from_key]`` to a file."""
    ref = fill(binding["path"], ctx)
    into = binding.get("into") or meta.get("state") or "file"
    if (binding.get("operation") or "read") == "read":
        return {into: read_file(ref, binding, meta)}
    key = binding.get("from_key") or ""
    if key not in ctx:
        raise KeyError(f"the context has no '{key}' to write (from_key)")
    return {into: write_file(ref, ctx[key], binding, meta)}
