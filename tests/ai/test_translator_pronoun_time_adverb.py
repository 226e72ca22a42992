"""A pronoun object followed by a time adverb (issue 16 follow-up): "send it tomorrow" is send_newsletter (was
send_tomorrow), "leave it overnight" after mixing the dough is leave_dough (was mix_leave_overnight, the
unknown verb merged into the previous step) — the adverb says when, not what."""

from __future__ import annotations

import pytest

from engine.dsl.model import END, START
from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Draft the newsletter and send it tomorrow.", ["draft_newsletter", "send_newsletter"]),
        ("Mix the dough and leave it overnight.", ["mix_dough", "leave_dough"]),
        ("Back up the database, then restore it tonight.", ["back_up_database", "restore_database"]),
        ("Book the room and confirm them later.", None),
        ("Label the samples and ship them tomorrow morning.", ["label_samples", "ship_samples"]),
    ],
)
def test_a_time_adverb_after_a_pronoun_is_not_the_object(text, want):
    model, r = translated(text)
    names = [s for t in model.transitions for s in (t.source, *t.targets) if s not in (START, END)]
    names = list(dict.fromkeys(names))
    if want is not None:
        assert names == want, r.dsl
    assert not any(n.endswith(("_tomorrow", "_overnight", "_tonight", "_later")) for n in names), r.dsl
