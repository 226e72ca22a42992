"""Phrasal verbs: their particle before the object, and the noun they make ("back up" -> "the backup").

* "Back up the database. If the backup fails, page the DBA" is the backup step's error path (was a
  decision on ``backup_success``, a value no step gives): "the backup", "the setup", "the rollout" name
  the step whose verb and particle they join.
* "Roll out the release" has the particle "out" although the list of phrasal verbs does not know
  "roll out": an adverb particle right before the object's determiner belongs to the verb. "Then roll
  it back" is ``roll_back_release`` (was ``roll_back_out_release``).
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, step, fallback",
    [
        ("Back up the database. If the backup fails, page the DBA.", "back_up_database", "page_dba"),
        (
            "Set up the test environment. If the setup fails, email the platform team.",
            "set_up_test_environment",
            "email_platform_team",
        ),
        (
            "Roll out the release to staging; if the rollout fails, roll it back and alert the team.",
            "roll_out_release_staging",
            "roll_back_release",
        ),
    ],
)
def test_the_noun_of_a_phrasal_verb_names_the_step_that_failed(text, step, fallback):
    dsl = offline_translation(text).dsl
    assert f"{step}->{fallback}:@error;" in dsl, dsl
    assert "_success==" not in dsl


@pytest.mark.parametrize(
    "text, names",
    [
        ("Roll out the release to staging. Then roll it back.", ["roll_out_release_staging", "roll_back_release"]),
        ("Roll out the release to staging. Then test it.", ["roll_out_release_staging", "test_release"]),
        ("Print out the report and send back the signed form.", ["print_out_report", "send_back_signed_form"]),
    ],
)
def test_an_adverb_particle_before_the_object_belongs_to_the_verb(text, names):
    dsl = offline_translation(text).dsl
    for name in names:
        assert f"{name}->" in dsl, dsl
    assert "out_release;" not in dsl.replace("roll_out_release", "")


@pytest.mark.parametrize(
    "text, cond",
    [
        ("Run the export. If the export takes more than 30 minutes, alert the team.", "export_duration_minutes>30"),
        ("Run the export. If it takes longer than 2 hours, alert the team.", "duration_hours>2"),
        ("Back up the database. If the backup takes more than an hour, page the DBA.", "backup_duration_hours>1"),
    ],
)
def test_a_duration_condition_names_its_unit(text, cond):
    """ "takes more than 30 minutes" was ``export_duration>30``: 30 of what, for the step that sets it?"""
    assert cond in offline_translation(text).dsl


@pytest.mark.parametrize(
    "text, name",
    [
        (
            "Every hour, check the queue length. If more than 500 messages are waiting, scale up the workers; if "
            "fewer than 50, scale them down.",
            "scale_down_workers",  # was scale_down_up_workers: 'scale' was no verb, 'up' part of the object
        ),
        ("Receive the expense report. Then finance pays it out.", "pay_out_expense_report"),  # was pay_out
    ],
)
def test_a_particle_after_a_pronoun_is_the_verbs(text, name):
    assert f"->{name}" in offline_translation(text).dsl


def test_a_report_that_is_paid_or_approved_is_no_query():
    """A step over "the report" is proposed as a SQL query only when its verb makes one (generate, load …)."""
    bindings = offline_translation("Receive the expense report. Then finance pays it out.").bindings
    assert bindings.get("pay_out_expense_report", {}).get("action") != "sql"
    generated = offline_translation("Generate the monthly sales report from the warehouse.").bindings
    assert generated["generate_monthly_sales_report"]["action"] == "sql"


def test_verbs_the_word_list_lacked_are_read_in_the_passive_too():
    """ "Valid rows are inserted into the customers table" was a step named valid_rows_inserted."""
    dsl = offline_translation("Validate the file. Valid rows are inserted into the customers table.").dsl
    assert "validate_file->insert_" in dsl and "inserted" not in dsl
