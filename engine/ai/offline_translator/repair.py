"""Structural repair of emitted DSL until the validator accepts it."""

from __future__ import annotations

import re

from engine.ai.offline_translator.emit import _linear
from engine.dsl.model import END, START
from engine.errors import DSLError


def repair(dsl: str, fallback_names: list[str] | None = None) -> tuple[str, list[str]]:
    """Make ``dsl`` valid with structural fixes; returns (dsl, notes about what was changed)."""
    from engine.dsl.validate import check

    notes: list[str] = []
    text = dsl
    for _ in range(4):
        try:
            model, rep = check(text)
        except DSLError:
            break
        if not rep.errors:
            return text, notes
        lines = text.splitlines()
        changed = False
        for issue in rep.errors:
            m = re.search(r"state '(\w+)' has no outgoing", issue.message)
            if issue.code == "dead_end" and m:
                lines.append(f"{m.group(1)}->end;")
                notes.append(f"connected '{m.group(1)}' to end")
                changed = True
            elif issue.code == "end_unreachable":
                last = next((s for s in reversed(model.states) if s not in (START, END)), START)
                lines.append(f"{last}->end;")
                changed = True
            elif issue.code == "unreachable":
                m = re.search(r"state '(\w+)'", issue.message)
                if m:
                    lines = [ln for ln in lines if not re.search(rf"(?<![\w]){m.group(1)}(?![\w])", ln)]
                    notes.append(f"dropped unreachable state '{m.group(1)}'")
                    changed = True
            elif issue.code == "two_defaults" and issue.line:
                del lines[issue.line - 1]
                changed = True
            elif issue.code == "bad_fan_in" and issue.line:
                bad = lines[issue.line - 1]
                mm = re.match(r"\[([^\]]+)\]->(\w+);", bad.strip())
                del lines[issue.line - 1]
                if mm:
                    for s in mm.group(1).split(","):
                        lines.append(f"{s.strip()}->{mm.group(2)};")
                changed = True
        if not changed:
            break
        text = "\n".join(lines) + "\n"
    notes.append("the structure could not be repaired; fell back to a straight sequence of the steps")
    return _linear(fallback_names or []), notes
