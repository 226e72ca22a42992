"""Daily KPI report: the SQL steps compute the figures in parallel; this composes the report rows."""

from __future__ import annotations


def compile_kpi_report(context: dict) -> dict:
    """One report row (a column per KPI), plus a one-line summary."""
    rev, orders = context.get("revenue") or {}, context.get("order_stats") or {}
    top = context.get("top_product") or {}
    row = {
        "since": str(context.get("since")),
        "revenue": float(rev.get("revenue") or 0.0),
        "orders": int(orders.get("orders") or 0),
        "average_order_value": float(orders.get("avg_order") or 0.0),
        "top_product": str(top.get("product") or "-"),
    }
    summary = (
        f"Since {row['since']}: revenue {row['revenue']}, {row['orders']} orders, "
        f"average {row['average_order_value']}, top product {row['top_product']}"
    )
    return {"kpi_rows": [row], "kpi_summary": summary}
