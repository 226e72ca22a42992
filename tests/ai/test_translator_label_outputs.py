"""The decision after a labelling step reads what the step outputs, named as a noun.

"Classify the ticket with the LLM. Urgent tickets go to …" decided on ``classify=='urgent'``: the verb,
not what classifying gives. A classifying step outputs a ``category``, a rating step a ``rating``; verbs
whose output has the verb's own name (tag, label, score, grade) keep it.
"""

from __future__ import annotations

import pytest

from engine.ai.translator import offline_translation


@pytest.mark.parametrize(
    "text, step, var, value",
    [
        (
            "Classify the ticket with the LLM. Urgent tickets go to the on-call engineer; everything else goes "
            "to the support queue.",
            "classify_ticket",
            "category",
            "urgent",
        ),
        (
            "Use the LLM to categorise each lead. Hot leads go to sales, cold leads go to the nurture campaign.",
            "categorise_lead",
            "category",
            "hot",
        ),
        (
            "Have the AI tag each review. Negative reviews go to the support team; the rest are archived.",
            "tag_review",
            "tag",
            "negative",
        ),
    ],
)
def test_the_decision_after_a_label_step_reads_its_output_noun(text, step, var, value):
    tr = offline_translation(text)
    assert f"{step}->" in tr.dsl
    assert f"{var}=={value!r}" in tr.dsl, tr.dsl
    assert "classify==" not in tr.dsl and "categorise==" not in tr.dsl
