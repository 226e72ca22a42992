"""How a span of time is said to people ("2 d", "26.5 h", "10 min"): one rule for prompts, notes and cards."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    """A wait as people say it: "2 d", "2 d 5 h", "36 h", "26.5 h", "10 min", "1.5 min", "45 s"."""
    if seconds >= 2 * 86_400:
        days, hours = divmod(round(seconds / 3_600), 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    for unit, size in (("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}" if seconds % size == 0 else f"{seconds / size:.1f} {unit}"
    return f"{seconds:g} s"
