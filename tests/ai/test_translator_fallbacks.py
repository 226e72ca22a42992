"""A fallback without a retry phrase (issue 16 follow-up): "Fetch the rates from the API; if that fails, use
yesterday's file", "…; otherwise fall back to the cache", "Should the upload fail, e-mail the admin".

The step gets an ``@error`` path to the fallback, and the flow goes on after the step (it is not a plain next
step, nor a decision on a made-up variable). A success path next to it ("if it works, …", "otherwise …")
keeps the two a decision on the step's outcome; a failed check stays a decision.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation
from engine.dsl.model import END, START
from engine.dsl.validate import check


def tr(text: str):
    t = offline_translation(text)
    model, rep = check(t.dsl)
    assert not rep.errors, (t.dsl, rep.errors)
    return t, model


def error_paths(model) -> set[tuple[str, str]]:
    return {(t.source, x) for t in model.transitions if t.is_error for x in t.targets}


def plain_edges(model) -> set[tuple[str, str]]:
    return {(t.source, x) for t in model.transitions if not t.is_error and not t.is_conditional for x in t.targets}


@pytest.mark.parametrize(
    ("text", "step", "fallback", "after"),
    [
        (
            "Fetch the rates from the API; if that fails, use yesterday's file. Then compute the prices.",
            "fetch_rates_api",
            "switch_to_yesterday_file",
            "compute_prices",
        ),
        (
            "Download the catalogue from the supplier; otherwise fall back to the cached catalogue. Then publish "
            "the catalogue.",
            "download_catalogue_supplier",
            "switch_to_cached_catalogue",
            "publish_catalogue",
        ),
        (
            "Upload the report to the portal. Should the upload fail, e-mail the admin. Then archive the report.",
            "upload_report_portal",
            "email_admin",
            "archive_report",
        ),
        (
            "Load the customer data from the CRM. If the CRM is down, read the local export instead. Then score "
            "the customers.",
            "load_customer_data_crm",
            "read_local_export",
            "score_customers",
        ),
        (
            "Query the warehouse API for stock levels, falling back to the last snapshot if the API fails. Then "
            "reorder low items.",
            "query_warehouse_api",
            "switch_to_last_snapshot",
            "reorder_low_items",
        ),
        (
            "Call the geocoding service. In case of an error, use the default region. Then assign the sales rep.",
            "call_geocoding_service",
            "switch_to_default_region",
            "assign_sales_rep",
        ),
        (
            "Pull the daily sales from the POS system; on failure, load them from the backup file. Then build "
            "the KPI report.",
            "pull_daily_sales",
            "load_backup_file",
            "build_kpi_report",
        ),
    ],
)
def test_fallback_is_the_steps_error_path_and_the_flow_goes_on(text, step, fallback, after):
    t, model = tr(text)
    assert (step, fallback) in error_paths(model), t.dsl
    assert (step, after) in plain_edges(model), t.dsl  # the step's own success goes on
    assert (fallback, after) in plain_edges(model), t.dsl  # and so does the fallback
    assert (step, fallback) not in plain_edges(model), t.dsl  # not a plain next step
    assert not any(t_.is_conditional for t_ in model.transitions), t.dsl


def test_fallback_keeps_the_step_as_what_it_means():
    """ "if sending fails, print it and post it": "it" is still the invoice, not "sending"."""
    t, model = tr("Send the invoice by email; if sending fails, print it and post it. Finally log the invoice.")
    assert ("send_invoice", "print_invoice") in error_paths(model), t.dsl
    assert ("print_invoice", "post_invoice") in plain_edges(model), t.dsl
    assert ("post_invoice", "log_invoice") in plain_edges(model), t.dsl


def test_a_fallback_that_stops_ends_its_branch():
    t, model = tr("Charge the card. If the charge fails, email the customer and stop. Ship the order.")
    assert ("charge_card", "email_customer") in error_paths(model), t.dsl
    assert ("email_customer", END) in plain_edges(model), t.dsl
    assert ("charge_card", "ship_order") in plain_edges(model), t.dsl


@pytest.mark.parametrize(
    "text",
    [
        "Process the payment. If the payment fails, notify the customer; otherwise ship the order.",
        "Charge the card. If the charge fails, cancel the order. If it succeeds, ship the order.",
    ],
)
def test_a_success_path_next_to_the_failure_makes_a_decision(text):
    t, model = tr(text)
    assert not error_paths(model), t.dsl
    conds = [t_ for t_ in model.transitions if t_.is_conditional]
    assert len(conds) == 2, t.dsl
    fail_target = "notify_customer" if "notify" in text else "cancel_order"
    assert (fail_target, "ship_order") not in plain_edges(model), t.dsl  # the failed path does not ship


@pytest.mark.parametrize(
    "text",
    [
        "Validate the uploaded file. If the validation fails, reject the file. Load it into the warehouse.",
        "Check the invoice against the purchase order. If the check fails, send it back to the supplier.",
    ],
)
def test_a_failed_check_is_still_a_decision(text):
    t, model = tr(text)
    assert not error_paths(model), t.dsl
    assert any(t_.is_conditional for t_ in model.transitions), t.dsl
    assert START in model.states
