"""Shipment tracking: poll a (simulated) carrier until the parcel is delivered, waiting between checks."""

from __future__ import annotations

import datetime as dt
import hashlib

from gallery_common import find, keep_message


def load_shipment(context: dict) -> dict:
    """The shipment from data/samples/shipments.csv."""
    return {"shipment": find("shipments.csv", "shipment_id", context["shipment_id"]), "checks": 0}


def check_carrier(context: dict) -> dict:
    """One look at the carrier's tracking. The sample data says on which check a parcel shows as delivered
    (none: it never does); ``next_check_at`` is when the wait step lets the next check run."""
    s = context["shipment"]
    checks = int(context.get("checks", 0)) + 1
    delivered = bool(s["delivered_on_check"]) and checks >= int(s["delivered_on_check"])
    every = float(context.get("check_every_s", 1))
    next_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=every)
    return {
        "checks": checks,
        "delivered": delivered,
        "carrier_status": "delivered" if delivered else "in transit",
        "checks_left": max(0, int(context.get("max_checks", 5)) - checks),
        "next_check_at": next_at.isoformat(timespec="seconds" if every >= 1 else "milliseconds"),
    }


def notify_customer(context: dict) -> dict:
    """Tell the customer the parcel arrived."""
    s = context["shipment"]
    text = f"{s['customer']}: your parcel {s['tracking_number']} ({s['carrier']}) was delivered"
    return keep_message(context, text)


def open_support_case(context: dict) -> dict:
    """Still not delivered after the last check: a case for support, with what is known."""
    s = context["shipment"]
    case = "CASE-" + hashlib.sha1(s["tracking_number"].encode()).hexdigest()[:6].upper()
    text = (
        f"support: {case} for order {s['order_id']} ({s['customer']}): {s['carrier']} {s['tracking_number']} "
        f"not delivered after {context['checks']} checks"
    )
    return {"support_case": case, **keep_message(context, text)}
