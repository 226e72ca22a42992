"""Past-tense conditions with a pronoun subject (issue 16 follow-up): "Email the invoice. If it bounced, …" is
invoice_bounced (was bounced), "if it went viral" is article_went_viral (was went_viral, and "went" became what
"it" means next); an unknown verb with a pronoun object ("boost it") is named by what "it" is (boost_article,
was boost_step).
"""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "cond", "step"),
    [
        ("Email the invoice. If it bounced, call the client.", "invoice_bounced==True", "call_client"),
        ("Run the migration. If it crashed, restore the backup.", "migration_crashed==True", "restore_backup"),
        ("Publish the article. If it went viral, boost it.", "article_went_viral==True", "boost_article"),
        ("Open the incident. If it escalated, page the director.", "incident_escalated==True", "page_director"),
    ],
)
def test_a_pronoun_subject_names_the_condition(text, cond, step):
    model, r = translated(text)
    conds = {(t.condition.text, x) for t in model.transitions if t.is_conditional for x in t.targets}
    assert (cond, step) in conds, r.dsl
    assert not any(s.endswith("_step") for s in model.states), r.dsl
