"""Order-processing checks over data/samples/orders.csv and inventory.csv (template functions)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
VALID_PAYMENT = {"card", "invoice", "paypal"}


def _rows(name: str) -> list[dict]:
    with open(SAMPLES / name, newline="") as fh:
        return list(csv.DictReader(fh))


def validate_order(context: dict, strict: bool = True) -> dict:
    """Look the order up and check quantity, product and payment method."""
    order_id = str(context["order_id"])
    order = next((r for r in _rows("orders.csv") if r["order_id"] == order_id), None)
    if order is None:
        raise KeyError(f"order {order_id} does not exist in orders.csv")
    problems = []
    qty = int(order["quantity"])
    if qty <= 0:
        problems.append("quantity must be positive")
    skus = {r["sku"] for r in _rows("inventory.csv")}
    if order["sku"] not in skus:
        problems.append(f"unknown product {order['sku']}")
    if strict and order["payment_method"] not in VALID_PAYMENT:
        problems.append(f"unsupported payment method {order['payment_method']}")
    order["quantity"] = qty
    return {"order": order, "order_valid": not problems, "validation_errors": problems}


def check_inventory(context: dict) -> dict:
    order = context["order"]
    stock = {r["sku"]: int(r["in_stock"]) for r in _rows("inventory.csv")}
    have = stock.get(order["sku"], 0)
    want = order["quantity"]
    return {
        "in_stock": have,
        "all_available": have >= want,
        "some_available": 0 < have < want,
        "none_available": have == 0,
    }


def reserve_inventory(context: dict) -> dict:
    order = context["order"]
    qty = min(order["quantity"], context.get("in_stock", order["quantity"]))
    rid = hashlib.sha1(f"{order['order_id']}:{qty}".encode()).hexdigest()[:10]
    return {"reservation_id": f"R-{rid}", "reserved_quantity": qty}


def process_payment(context: dict) -> dict:
    order = context["order"]
    prices = {r["sku"]: float(r["unit_price"]) for r in _rows("inventory.csv")}
    amount = round(prices[order["sku"]] * context.get("reserved_quantity", order["quantity"]), 2)
    ok = order["card_status"] == "ok"
    return {
        "amount_charged": amount if ok else 0.0,
        "payment_success": ok,
        "payment_error": None if ok else f"card {order['card_status']}",
    }


def release_inventory(context: dict) -> dict:
    return {"released_reservation": context.get("reservation_id"), "reservation_id": None}


def notify(context: dict, template: str = "") -> dict:
    """Render a customer message (the 'send' is the recorded message itself)."""
    order = context.get("order") or {}
    msg = template.format(
        customer=order.get("customer", "customer"),
        order_id=order.get("order_id", "?"),
        amount=context.get("amount_charged", 0),
    )
    sent = list(context.get("messages_sent", []))
    sent.append(msg)
    return {"messages_sent": sent}
