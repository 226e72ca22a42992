"""Verbs the word list does not know (issue 16 follow-up): a fused prefix on a known verb ("reindex",
"deprovision"), the verb suffixes -ize/-ise/-ify ("pseudonymise", "stratify"), data and finance verbs
("upsert", "prorate", "truncate") and any word straight before "the"/"their" at the start of a list item
("revalue the positions") are the item's own verb — not merged into the previous step (was pull_revalue_positions,
load_upsert_records, stage_table) — while nouns and adverbs before a determiner stay what they are.
"""

from __future__ import annotations

import pytest

from engine.ai import _words as W
from engine.ai.offline_translator import translate_offline
from tests.ai.translated import chain


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        (
            "Pull the trades, revalue the positions and post the journal.",
            ["pull_trades", "revalue_positions", "post_journal"],
        ),
        (
            "Load the file, upsert the records and notify the team.",
            ["load_file", "upsert_records", "notify_team"],
        ),
        (
            "Collect the timesheets, prorate the salaries and disburse the payments.",
            ["collect_timesheets", "prorate_salaries", "disburse_payments"],
        ),
        ("Truncate the staging table, then reload it.", ["truncate_staging_table", "reload_staging_table"]),
        (
            "Export the users, pseudonymise the emails and reindex the search cluster.",
            ["export_users", "pseudonymise_emails", "reindex_search_cluster"],
        ),
        (
            "Read the survey, stratify the sample and deprovision the old accounts.",
            ["read_survey", "stratify_sample", "deprovision_old_accounts"],
        ),
        (
            "Open the ticket, reconfirm their slots and email the list.",
            ["open_ticket", "reconfirm_slots", "email_list"],
        ),
    ],
)
def test_unknown_verbs_start_their_own_step(text, steps):
    assert chain(translate_offline(text).dsl) == steps


@pytest.mark.parametrize(
    "word", ["otherwise", "enterprise", "expertise", "shopify", "report_card", "region", "deadline", "overview"]
)
def test_nouns_with_verb_like_shapes_are_not_verbs(word):
    assert not W.is_base_verb(word) or word in W.VERBS


def test_an_adverb_before_a_determiner_is_not_a_verb():
    dsl = translate_offline("Receive the claim. Then the adjuster inspects the car. Finally the clerk files it.").dsl
    assert "inspect_car" in dsl and not any(s.startswith(("then_", "finally_")) for s in chain(dsl)), dsl


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Procurement closes the purchase order and IT wipes the laptop.", ["close_purchase_order", "wipe_laptop"]),
        ("The recruiter phones the candidate, then HR onboards the hire.", ["phone_candidate", "onboard_hire"]),
    ],
)
def test_an_unknown_verb_after_a_subject_is_the_verb(text, steps):
    assert chain(translate_offline(text).dsl) == steps


def test_a_listed_verb_without_a_determiner_starts_its_step():
    text = "Once a quarter, finance closes the books: accrue the open POs, revalue FX balances, then lock the period."
    assert chain(translate_offline(text).dsl) == [
        "close_books",
        "accrue_open_pos",
        "revalue_fx_balances",
        "lock_period",
    ]
