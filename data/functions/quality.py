"""Data-quality checks over a CSV file; each check runs as its own parallel branch."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _path(context: dict) -> str:
    p = Path(context.get("dataset") or SAMPLES / "customers.csv")
    if not p.is_absolute() and not p.exists():
        p = SAMPLES.parent.parent / p
    return str(p)


def _ident(name: str) -> str:
    """Column names come from the workflow file; accept identifiers only."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"'{name}' is not a column name")
    return name


def _q(context: dict, sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        path = _path(context).replace("'", "''")
        con.execute(f"CREATE VIEW data AS SELECT * FROM read_csv_auto('{path}')")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def load_dataset(context: dict) -> dict:
    ((n, cols),) = _q(context, "SELECT count(*), (SELECT count(*) FROM (DESCRIBE data)) FROM data")
    return {"row_count": n, "column_count": cols}


def check_nulls(context: dict, column: str = "email") -> dict:
    column = _ident(column)
    ((bad,),) = _q(context, f"SELECT count(*) FROM data WHERE {column} IS NULL OR trim(CAST({column} AS VARCHAR)) = ''")
    return {"nulls_passed": bad == 0, "nulls_issues": bad}


def check_duplicates(context: dict, key: str = "customer_id") -> dict:
    key = _ident(key)
    ((dups,),) = _q(context, f"SELECT count(*) FROM (SELECT {key} FROM data GROUP BY 1 HAVING count(*) > 1)")
    return {"duplicates_passed": dups == 0, "duplicates_issues": dups}


def check_ranges(context: dict, column: str = "age", low: float = 0, high: float = 120) -> dict:
    column = _ident(column)
    ((bad,),) = _q(context, f"SELECT count(*) FROM data WHERE {column} < {float(low)} OR {column} > {float(high)}")
    return {"ranges_passed": bad == 0, "ranges_issues": bad}


def check_freshness(context: dict, column: str = "last_seen", max_age_days: int = 60) -> dict:
    column = _ident(column)
    ((latest,),) = _q(context, f"SELECT max({column}) FROM data")
    today = dt.date.fromisoformat(context.get("as_of", dt.date.today().isoformat()))
    age = (today - latest).days if latest else None
    return {"freshness_passed": age is not None and age <= max_age_days, "freshness_issues": age}


def summarize_quality(context: dict, tolerance: int = 0) -> dict:
    checks = ["nulls", "duplicates", "ranges", "freshness"]
    failed = [c for c in checks if not context.get(f"{c}_passed")]
    total_issues = sum(int(context.get(f"{c}_issues") or 0) for c in checks if c != "freshness")
    return {
        "failed_checks": failed,
        "quality_ok": not failed or total_issues <= tolerance,
        "quality_score": round(100 * (len(checks) - len(failed)) / len(checks)),
    }
