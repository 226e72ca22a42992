"""Invoice approval: check an invoice against the vendor list, pay approved ones, reject the rest."""

from __future__ import annotations

import hashlib

from gallery_common import find, keep_message, rows


def load_invoice(context: dict) -> dict:
    """The invoice from data/samples/invoices.csv."""
    inv = find("invoices.csv", "invoice_id", context["invoice_id"])
    inv["amount"] = float(inv["amount"])
    return {"invoice": inv}


def check_invoice(context: dict) -> dict:
    """A known, approved vendor and a purchase-order number; over the limit needs a manager."""
    inv = context["invoice"]
    vendors = {v["vendor"]: v for v in rows("vendors.csv")}
    problems = []
    if inv["vendor"] not in vendors or vendors[inv["vendor"]]["approved"] != "true":
        problems.append("vendor is not on the approved list")
    if not inv["po_number"]:
        problems.append("no purchase order number")
    limit = float(context.get("auto_approve_limit", 1000))
    return {
        "invoice_ok": not problems,
        "invoice_problems": problems,
        "needs_manager": inv["amount"] > limit,
        "iban": vendors.get(inv["vendor"], {}).get("iban"),
    }


def pay_invoice(context: dict) -> dict:
    """Schedule the bank transfer (a deterministic payment reference)."""
    inv = context["invoice"]
    ref = hashlib.sha1(f"{inv['invoice_id']}:{inv['amount']}".encode()).hexdigest()[:10].upper()
    return {"paid": True, "payment_reference": f"PAY-{ref}", "paid_amount": inv["amount"]}


def reject_invoice(context: dict) -> dict:
    """Mark the invoice rejected with its reasons."""
    reasons = context.get("invoice_problems") or ["the manager declined"]
    return {"paid": False, "rejection_reasons": reasons}


def notify_vendor(context: dict) -> dict:
    """Tell the vendor the outcome."""
    inv = context["invoice"]
    if context.get("paid"):
        text = f"{inv['vendor']}: invoice {inv['invoice_id']} paid, reference {context['payment_reference']}"
    else:
        text = f"{inv['vendor']}: invoice {inv['invoice_id']} rejected: {'; '.join(context['rejection_reasons'])}"
    return keep_message(context, text)
