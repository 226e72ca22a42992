"""Sales-report helpers: combine the per-region SQL results into one ranked report."""

from __future__ import annotations


def combine_report(context: dict, regions: tuple = ("north", "south", "east", "west")) -> dict:
    per_region = {r: context.get(r) or {} for r in regions}
    total = round(sum(float(v.get("revenue") or 0) for v in per_region.values()), 2)
    ranking = sorted(per_region, key=lambda r: float(per_region[r].get("revenue") or 0), reverse=True)
    shares = {r: round(100 * float(per_region[r].get("revenue") or 0) / total, 1) if total else 0.0 for r in regions}
    return {
        "total_revenue": total,
        "region_ranking": ranking,
        "revenue_share_pct": shares,
        "top_region": ranking[0] if ranking else None,
    }
