"""Refund handling: policy check, automatic refunds under a limit, a supervisor above it, denial outside policy."""

from __future__ import annotations

import datetime as dt
import hashlib

from gallery_common import find, keep_message


def load_refund_request(context: dict) -> dict:
    """The request from data/samples/refunds.csv."""
    r = find("refunds.csv", "refund_id", context["refund_id"])
    r["amount"] = float(r["amount"])
    return {"refund": r}


def check_refund_policy(context: dict) -> dict:
    """Inside the return window (days since purchase, as of ``today``); above the limit needs a supervisor."""
    r = context["refund"]
    today = dt.date.fromisoformat(context.get("today") or dt.date.today().isoformat())
    age = (today - dt.date.fromisoformat(r["purchase_date"])).days
    window = int(context.get("return_window_days", 30))
    return {
        "within_policy": 0 <= age <= window,
        "days_since_purchase": age,
        "needs_supervisor": r["amount"] > float(context.get("auto_refund_limit", 100)),
    }


def issue_refund(context: dict) -> dict:
    """Refund to the original payment method."""
    r = context["refund"]
    ref = hashlib.sha1(f"{r['refund_id']}:{r['amount']}".encode()).hexdigest()[:8].upper()
    return {"refunded": True, "refund_reference": f"RF-{ref}", "refunded_amount": r["amount"]}


def deny_refund(context: dict) -> dict:
    """Deny with the reason."""
    why = "outside the return window" if not context.get("within_policy") else "declined by the supervisor"
    return {"refunded": False, "denial_reason": why}


def notify_customer(context: dict) -> dict:
    """Tell the customer the outcome."""
    r = context["refund"]
    if context.get("refunded"):
        text = f"{r['customer']}: {r['amount']:.2f} refunded ({context['refund_reference']})"
    else:
        text = f"{r['customer']}: refund {r['refund_id']} denied, {context['denial_reason']}"
    return keep_message(context, text)
