"""'he/she' after "ask X to …" (issue 16 follow-up): "Ask the landlord to fix the heating. If he refuses, …" —
the landlord is who refuses (landlord_accepted==False; was heating_accepted). "the US totals" keeps the country
(compute_usa_totals; 'US' was read as the pronoun 'us' and dropped)."""

from __future__ import annotations

import pytest

from engine.ai.offline_translator import translate_offline


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Ask the landlord to fix the heating. If he refuses, contact the tenants' union.",
            "landlord_accepted==False",
        ),
        ("Tell the courier to collect the parcel. If she declines, book another courier.", "courier_"),
        ("Compute the US totals and the EU totals in parallel, then sum them.", "compute_usa_totals"),
        ("Ship to the US or the UK warehouse depending on the destination.", "usa"),
    ],
)
def test_who_or_what_the_short_word_means(text, want):
    r = translate_offline(text)
    assert want in r.dsl, r.dsl
