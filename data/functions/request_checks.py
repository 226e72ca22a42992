"""Request validation (seed example, bound): read one request, validate its fields, process or reject it."""

from __future__ import annotations

import re

from gallery_common import find, keep_message

CURRENCIES = {"EUR", "USD", "GBP"}


def receive_request(context: dict) -> dict:
    """Look the request up in data/samples/requests.csv."""
    req = find("requests.csv", "request_id", context["request_id"])
    req["amount"] = float(req["amount"])
    return {"request": req}


def validate_input(context: dict, max_amount: float = 10_000) -> dict:
    """E-mail present and well formed, amount positive and under the limit, a known currency."""
    req = context["request"]
    max_amount = float(context.get("max_amount", max_amount))
    problems = []
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", req.get("email") or ""):
        problems.append("a valid e-mail is required")
    if not 0 < req["amount"] <= max_amount:
        problems.append(f"amount must be between 0 and {max_amount:g}")
    if req["currency"] not in CURRENCIES:
        problems.append(f"unknown currency {req['currency']}")
    return {"is_valid": not problems, "validation_errors": problems}


def process_data(context: dict) -> dict:
    """Book the request: a reference and the amount in EUR."""
    req = context["request"]
    rate = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}[req["currency"]]
    return {"reference": f"REQ-{int(req['request_id']):05d}", "amount_eur": round(req["amount"] * rate, 2)}


def log_error(context: dict) -> dict:
    """Keep the reasons of the rejection."""
    return {"error_log": "; ".join(context.get("validation_errors", []))}


def send_notification(context: dict) -> dict:
    """Tell the client the request was accepted."""
    r = context["request"]
    return keep_message(
        context, f"{r['client']}: request {context['reference']} accepted ({context['amount_eur']} EUR)"
    )


def send_rejection(context: dict) -> dict:
    """Tell the client why the request was rejected."""
    r = context["request"]
    return keep_message(context, f"{r['client']}: request {r['request_id']} rejected: {context['error_log']}")
