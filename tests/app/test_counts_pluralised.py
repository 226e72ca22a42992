"""Every count the app prints agrees with its number ("1 step", "2 steps"): one helper, ``ui.count``,
and no "(s)" or bare "{n} steps" f-strings left in the pages (issue 15: the Editor said "1 steps")."""

from __future__ import annotations

import re
from pathlib import Path

from app.components.ui import count
from tests.app.test_editor_page import _open

APP = Path(__file__).resolve().parents[2] / "app"


def test_the_editor_says_1_step_and_2_transitions(page_test, app_engine):
    at = _open(page_test, app_engine, "start->pick;\npick->end;\n")
    valid = [s.value for s in at.success if "Valid" in s.value]
    assert valid == ["Valid · 1 step · 2 transitions"], valid


def test_count_agrees_with_the_number():
    assert [count(n, "run") for n in (0, 1, 2, 1200)] == ["0 runs", "1 run", "2 runs", "1,200 runs"]
    assert (count(1, "retry"), count(3, "retry"), count(2, "branch"), count(2, "day")) == (
        "1 retry",
        "3 retries",
        "2 branches",
        "2 days",
    )


COUNTED_NOUN = re.compile(
    r"\{[^{}]*(len\(|count|total|attempts|calls|decisions|states|runs|slots|nodes|incidents)[^{}]*\}\s*"
    r"(steps|runs|states|versions|templates|transitions|warnings|errors|attempts|decisions|calls|workflows)\b"
)


def test_no_page_prints_a_count_with_a_fixed_plural_or_an_s_in_brackets():
    offenders = []
    for path in APP.rglob("*.py"):
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ('f"' in line or "f'" in line) and ("(s)" in line or COUNTED_NOUN.search(line)):
                offenders.append(f"{path.relative_to(APP)}:{no}: {line.strip()}")
    assert not offenders, "use ui.count(n, noun):\n" + "\n".join(offenders)
