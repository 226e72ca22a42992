"""Declarative clauses in a list (issue 16 follow-up): "HR exports the hours, finance checks them and the bank pays
the salaries" — a part with its own subject, verb and object ("the bank pays the salaries") keeps its verb (was
check_bank_pays_salaries); a title before such a sentence ("Payroll: …") is a title, not a condition
(was payroll==True); a noun phrase in a list still takes the verb before it ("load the sales and the customer list").
"""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from tests.ai.translated import chain


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        (
            "Payroll: HR exports the hours, finance checks them and the bank pays the salaries.",
            ["export_hours", "check_hours", "pay_salaries"],
        ),
        (
            "Open the claim, the adjuster reviews the photos and the insurer pays the repair.",
            ["open_claim", "review_photos", "pay_repair"],
        ),
        (
            "Load the sales and the customer list, then build the report.",
            ["load_sales", "load_customer_list", "build_report"],
        ),
    ],
)
def test_a_part_with_its_own_subject_keeps_its_verb(text, steps):
    assert chain(translate_offline(text).dsl, no_conditions=True) == steps
