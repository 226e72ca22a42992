"""ETL with data-quality gates: extract a sales batch, check it in parallel, transform and load only a clean batch.

The rows never travel in the run's context (every step's context is recorded): each step reads the
batch file itself, the context carries its path, counts and verdicts."""

from __future__ import annotations

import csv
import datetime as dt

from gallery_common import keep_message, sample_path


def _rows(context: dict) -> list[dict]:
    with open(context["batch_path"], newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def extract_sales(context: dict) -> dict:
    """Find the batch (CSV under data/samples or a path) and count its rows."""
    path = sample_path(context.get("batch") or "sales.csv")
    if not path.is_file():
        raise FileNotFoundError(f"batch {path.name} not found")
    ctx = {"batch_path": str(path)}
    return {**ctx, "row_count": len(_rows(ctx)), "batch_file": path.name}


def check_schema(context: dict, columns: tuple = ("sale_id", "date", "region", "product", "units", "amount")) -> dict:
    """Every expected column present."""
    with open(context["batch_path"], newline="", encoding="utf-8") as fh:
        have = set(next(csv.reader(fh), []))
    missing = [c for c in columns if c not in have]
    return {"schema_ok": not missing, "missing_columns": missing}


def check_completeness(context: dict, max_null_ratio: float = 0.0) -> dict:
    """Share of rows with an empty amount at most ``max_null_ratio``."""
    data = _rows(context)
    empty = sum(1 for r in data if not (r.get("amount") or "").strip())
    ratio = empty / len(data) if data else 1.0
    return {"completeness_ok": ratio <= float(context.get("max_null_ratio", max_null_ratio)), "null_amounts": empty}


def check_values(context: dict) -> dict:
    """Amounts and units non-negative, dates valid."""
    bad = 0
    for r in _rows(context):
        try:
            dt.date.fromisoformat(r["date"])
            if float(r["amount"] or 0) < 0 or int(r["units"]) < 0:
                bad += 1
        except (ValueError, KeyError):
            bad += 1
    return {"values_ok": bad == 0, "bad_values": bad}


def transform_sales(context: dict) -> dict:
    """Revenue and units per region and month (the rows the load step writes)."""
    agg: dict[tuple, list] = {}
    for r in _rows(context):
        cur = agg.setdefault((r["region"], r["date"][:7]), [0.0, 0])
        cur[0] += float(r["amount"])
        cur[1] += int(r["units"])
    out = [{"region": k[0], "month": k[1], "revenue": round(v[0], 2), "units": v[1]} for k, v in sorted(agg.items())]
    return {"report_rows": out}


def quarantine_batch(context: dict) -> dict:
    """Keep the failed gates."""
    gates = {g: context.get(g) for g in ("schema_ok", "completeness_ok", "values_ok")}
    return {"quarantined": True, "failed_gates": [g for g, ok in gates.items() if not ok]}


def alert_data_owner(context: dict) -> dict:
    """Tell the owner which gates failed (or that the batch could not be read)."""
    why = ", ".join(context.get("failed_gates") or ["the batch could not be read"])
    return keep_message(context, f"batch {context.get('batch_file') or context.get('batch')} quarantined: {why}")
