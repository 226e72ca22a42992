"""State functions of the step-log tests (imported on Ray workers through the repo root)."""

from __future__ import annotations

import sys
import time


def chatty(context: dict, word: str = "hello", token: str = "", lines: int = 1, pause: float = 0.0) -> dict:
    """Print to stdout and stderr (the token too: a resolved secret must never reach the logs)."""
    for i in range(lines):
        print(f"{word} line {i}")
        if pause:
            time.sleep(pause)
    print(f"{word} warns on stderr", file=sys.stderr)
    if token:
        print(f"the token is {token}")
    return {f"said_{word}": True}


def flood(context: dict, size: int = 200_000) -> dict:
    """Print far more than the per-attempt limit; the last line is the one that matters."""
    line = "x" * 99 + "\n"
    for _ in range(size // 100):
        sys.stdout.write(line)
    print("THE LAST LINE")
    return {}


def fail_after_printing(context: dict, marker_dir: str, fail_times: int = 1) -> dict:
    """Print the attempt number, then fail the first ``fail_times`` attempts."""
    from pathlib import Path

    d = Path(marker_dir)
    d.mkdir(parents=True, exist_ok=True)
    n = len(list(d.iterdir()))
    (d / f"call-{n}").write_text("x")
    print(f"attempt {n + 1} starting")
    if n < fail_times:
        raise ConnectionError(f"temporary failure {n + 1}")
    return {"calls": n + 1}


def count_until(context: dict) -> dict:
    """A poll: counts its checks; ``shipped`` once the count reaches ``context['until']``."""
    checks = int(context.get("checks", 0)) + 1
    return {"checks": checks, "shipped": checks >= int(context["until"])}
