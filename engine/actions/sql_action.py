"""``sql`` action: a DuckDB query over CSV/Parquet files with context values bound as parameters.

Values are never formatted into SQL: ``$region`` in the query is bound from ``context["region"]``.
Output shapes: ``scalar``, ``row`` (dict), ``rows`` (list of dicts, capped) or ``table`` (a Parquet
artifact; its path goes into the context).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import os
import re
from pathlib import Path
from typing import Any

MAX_ROWS = 10_000
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _jsonable(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (_dt.date, _dt.datetime, _dt.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return v


def query_parameters(con, query: str) -> list[str]:
    """Names of the ``$name`` parameters of ``query``, as DuckDB's own SQL parser sees them.

    ``'$x'`` in a string literal, ``"$x"`` (a quoted identifier), ``$$ $x $$`` (a dollar-quoted
    string) and ``-- $x`` / ``/* $x */`` (comments) are text, not parameters. Raises ``ValueError``
    when the query does not parse or uses positional parameters (``$1``).
    """
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise ValueError(f"the SQL query does not parse: {str(exc).splitlines()[0]}") from None
    names: dict[str, None] = {}
    for statement in statements:
        for name in sorted(statement.named_parameters):
            if name.isdigit():
                raise ValueError(f"positional parameter ${name} is not supported; name it, e.g. $region")
            names.setdefault(name, None)
    return list(names)


def resolve_path(path: str, meta: dict) -> Path:
    """Resolve a data file inside the allowed folders: the workflow file's folder tree, data/ and the
    folders an administrator lists (engine.sandbox). Relative paths are looked up next to the workflow,
    under data/ and from the repository root (``data/samples/x.csv``). Errors name the path only."""
    from engine.sandbox import resolve_allowed_file

    extra = [Path(meta["data_dir"]).resolve().parent] if meta.get("data_dir") else []
    return resolve_allowed_file(path, meta.get("workflow_dir"), what="data file", extra_bases=extra)


def sandboxed_connection(readable: list[Path], writable_dir: Path | None):
    """A fresh in-memory DuckDB that may read only ``readable`` files and write only under
    ``writable_dir``: no other file, no extension install/load, no Python-variable scans, and its
    configuration locked (order of SETs per stack notes: allow-lists, then external access off, then lock)."""
    import duckdb

    from engine.sandbox import setting

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute("SET python_enable_replacements = false")
        con.execute("SET memory_limit = ?", [str(setting("sql_memory_limit", "2GB"))])
        con.execute("SET allowed_paths = ?", [[str(p) for p in readable]])
        if writable_dir is not None:
            con.execute("SET allowed_directories = ?", [[str(writable_dir).rstrip("/") + "/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _refusal(exc: Exception) -> Exception:
    """A DuckDB permission/lock error as a clear PermissionError (first line of DuckDB's message)."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return PermissionError(
        f"refused by the SQL sandbox: {first}. A sql state reads only the files its binding "
        "names under 'files' and writes only to its run's artifacts folder; it cannot install, "
        "load or attach anything nor change settings (docs/security.md)"
    )


def _deadline(con, seconds: float):
    """Interrupt the connection's running query after ``seconds``; returns (cancel, fired) helpers."""
    import threading

    fired = threading.Event()

    def stop():
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    return timer.cancel, fired


def _write_table(table, meta: dict) -> dict:
    """Write a result table as a Parquet artifact (temp name, then rename) and describe it."""
    import pyarrow.parquet as pq

    out_dir = Path(meta.get("artifacts_dir") or "data/artifacts") / (meta.get("execution_id") or "adhoc")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{meta.get('state', 'result')}.parquet"
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return {"path": str(target.resolve()), "rows": table.num_rows, "columns": table.column_names}


def run_sql(binding: dict, ctx, meta: dict) -> dict:
    """Run the state's query in a fresh sandboxed DuckDB (see :func:`sandboxed_connection`) with a time
    limit (``timeout_s``, else the settings' ``sql_timeout_s``) and row limits."""
    import duckdb

    from engine.sandbox import DEFAULT_SQL_MAX_TABLE_ROWS, DEFAULT_SQL_TIMEOUT_S, setting

    query: str = binding["query"]
    files: dict[str, Path] = {}
    for alias, path in (binding.get("files") or {}).items():
        if not _ALIAS.fullmatch(alias):
            raise ValueError(f"file alias '{alias}' must be an identifier")
        files[alias] = resolve_path(path, meta)
    out_dir = Path(meta.get("artifacts_dir") or "data/artifacts").resolve() / (meta.get("execution_id") or "adhoc")
    limit_s = float(
        binding.get("timeout_s") or meta.get("timeout_s") or setting("sql_timeout_s", DEFAULT_SQL_TIMEOUT_S)
    )
    max_table_rows = int(setting("sql_max_table_rows", DEFAULT_SQL_MAX_TABLE_ROWS))
    con = sandboxed_connection(list(files.values()), out_dir)
    cancel, fired = _deadline(con, limit_s)
    try:
        for alias, resolved in files.items():
            quoted = str(resolved).replace("'", "''")
            reader = "read_parquet" if quoted.endswith(".parquet") else "read_csv_auto"
            con.execute(f"CREATE VIEW \"{alias}\" AS SELECT * FROM {reader}('{quoted}')")
        params: dict[str, Any] = {}
        from engine.secrets import resolve

        given = resolve(binding.get("params") or {})  # {secret:NAME} bound as a parameter, never in the SQL text
        for name in query_parameters(con, query):
            if name in given:
                params[name] = given[name]
            elif name in ctx:
                params[name] = ctx[name]
            else:
                raise KeyError(f"the query needs ${name} but neither params nor the context has '{name}'")
        shape = binding.get("output") or "rows"
        into = binding.get("into") or meta.get("state") or "result"
        if shape == "table":  # straight to Arrow, without a copy through the DB-API cursor
            rel = con.sql(query, params=params or None)
            if rel is None:
                raise ValueError('output = "table" needs a query that returns rows')
            table = rel.limit(max_table_rows + 1).to_arrow_table()
            if table.num_rows > max_table_rows:
                raise ValueError(f"query returned more than {max_table_rows} rows (sql_max_table_rows)")
            return {into: _write_table(table, meta)}
        rel = con.execute(query, params) if params else con.execute(query)
        if shape == "scalar":
            row = rel.fetchone()
            return {into: _jsonable(row[0]) if row else None}
        cols = [d[0] for d in rel.description]
        if shape == "row":
            row = rel.fetchone()
            return {into: {c: _jsonable(v) for c, v in zip(cols, row)} if row else None}
        rows = rel.fetchmany(MAX_ROWS + 1)
        if len(rows) > MAX_ROWS:
            raise ValueError(f'query returned more than {MAX_ROWS} rows; use output = "table" for large results')
        return {into: [{c: _jsonable(v) for c, v in zip(cols, r)} for r in rows]}
    except duckdb.InterruptException:
        if fired.is_set():
            raise TimeoutError(f"the SQL query ran longer than its limit of {limit_s:g} s and was stopped") from None
        raise
    except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
        if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in str(exc):
            raise _refusal(exc) from None
        raise
    finally:
        cancel()
        con.close()
