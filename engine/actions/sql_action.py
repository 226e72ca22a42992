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
    """Resolve a data file: absolute, relative to the workflow file, or relative to data/."""
    p = Path(path)
    candidates = [p] if p.is_absolute() else []
    if not p.is_absolute():
        if meta.get("workflow_dir"):
            candidates.append(Path(meta["workflow_dir"]) / p)
        if meta.get("data_dir"):
            candidates.append(Path(meta["data_dir"]) / p)
            candidates.append(Path(meta["data_dir"]).parent / p)
        candidates.append(Path.cwd() / p)
    for c in candidates:
        if c.exists():
            return c.resolve()
    raise FileNotFoundError(f"data file '{path}' not found (looked in: {', '.join(str(c.parent) for c in candidates)})")


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
    import duckdb

    query: str = binding["query"]
    con = duckdb.connect()
    try:
        for alias, path in (binding.get("files") or {}).items():
            if not _ALIAS.fullmatch(alias):
                raise ValueError(f"file alias '{alias}' must be an identifier")
            resolved = str(resolve_path(path, meta)).replace("'", "''")
            reader = "read_parquet" if resolved.endswith(".parquet") else "read_csv_auto"
            con.execute(f"CREATE VIEW \"{alias}\" AS SELECT * FROM {reader}('{resolved}')")
        params: dict[str, Any] = {}
        given = binding.get("params") or {}
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
            table = con.sql(query, params=params or None).to_arrow_table()
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
            raise ValueError(f"query returned more than {MAX_ROWS} rows; use output = \"table\" for large results")
        return {into: [{c: _jsonable(v) for c, v in zip(cols, r)} for r in rows]}
    finally:
        con.close()
