"""'<step> and if <condition>, <step>' (issue 16 follow-up): the condition starts a new clause after the step
("run the backup and if it fails, page the admin" -> run_backup, then its @error path to page_admin; was a
decision before run_backup that ran the backup only on failure). A compound condition ("if A and if B") is
unchanged."""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline
from engine.dsl.model import START
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "first", "guarded", "cond"),
    [
        (
            "Mail the forms to the volunteers and if they respond, thank them.",
            "mail_forms_volunteers",
            "thank_volunteers",
            "volunteers_responded==True",
        ),
        ("Run the backup and if it fails, page the admin.", "run_backup", "page_admin", "@error"),
        (
            "Upload the file and when the upload completes, notify the owner.",
            "upload_file",
            "notify_owner",
            "upload_complete==True",
        ),
        (
            "Pack the box and unless the address is missing, print the label.",
            "pack_box",
            "print_label",
            "address_found==True",
        ),
    ],
)
def test_the_step_before_and_if_runs_first(text, first, guarded, cond):
    model, r = translated(text)
    starts = [x for t in model.transitions if t.source == START for x in t.targets]
    assert starts == [first], r.dsl
    assert f"{first}->{guarded}:{cond};" in r.dsl, r.dsl


def test_a_compound_condition_with_and_if_is_unchanged():
    r = translate_offline("If the amount is high and if the customer is new, call the customer.")
    assert "amount_high_customer_new==True" in r.dsl, r.dsl
