"""'If the import fails, alert the data team' when the workflow has an import step (s23) is that step's @error
path (import_data -> alert_data_team:@error), not a proposal to notify on any failed run; the failing noun
finds its step by verb even when other steps came after it. A failure of the whole run ("if the workflow
fails", "if anything fails", "if the job fails" with no such step) stays a notification proposal."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


def error_paths(model) -> set[tuple[str, str]]:
    return {(t.source, x) for t in model.transitions if t.is_error for x in t.targets}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("Import the data. If the import fails, alert the data team.", ("import_data", "alert_data_team")),
        (
            "Sync the contacts with the CRM. Alert the sales ops team if the sync fails.",
            ("sync_contacts", "alert_sales_ops_team"),
        ),
        (
            "Export the ledger to the ERP, then archive the batch. If the export fails, notify finance.",
            ("export_ledger_erp", "notify_finance"),
        ),
        ("Run the nightly backup job. If the job fails, page the admin.", ("run_backup_job", "page_admin")),
        (
            "Migrate the user table, then rebuild the indexes. If the migration fails, restore the snapshot.",
            ("migrate_user_table", "restore_snapshot"),
        ),
    ],
)
def test_the_failure_of_a_step_is_its_error_path(text, path):
    model, r = translated(text)
    assert path in error_paths(model), r.dsl
    assert r.proposals["notifications"] == [], r.proposals


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("Import the orders and update the stock. If the workflow fails, alert the data team.", "data-team"),
        ("Import the orders and update the stock. If anything fails, page the on-call.", "on-call"),
        ("Every 15 minutes poll the queue. Notify the ops channel if the job fails.", "ops"),
    ],
)
def test_the_failure_of_the_run_stays_a_notification(text, channel):
    model, r = translated(text)
    assert r.proposals["notifications"] == [{"channels": [channel], "on": ["failed"]}], r.proposals
    assert not error_paths(model), r.dsl
