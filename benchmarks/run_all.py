"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in turn and print a summary table.

    python -m benchmarks.run_all [name ...]     # e.g. 'dsl' runs only bench_dsl

A benchmark's ``main()`` may return a dict with ``ok`` (bool) and ``summary`` (one line); anything
else counts as ran-without-verdict. An exception is reported and the others still run. Exit status:
1 when a benchmark raised or returned ``ok: False``.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(only: list[str] | None = None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if n in only or n.removeprefix("bench_") in only]
    return names


def run(names: list[str]) -> list[dict]:
    rows = []
    for name in names:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            out = module.main([]) if _takes_argv(module.main) else module.main()
            status = "ok" if not isinstance(out, dict) or out.get("ok", True) else "FAILED"
            summary = out.get("summary", "") if isinstance(out, dict) else ""
        except SystemExit as exc:  # a main() that calls sys.exit
            status = "ok" if exc.code in (0, None) else "FAILED"
            summary = f"exit {exc.code}"
        except Exception as exc:  # keep going: one broken benchmark must not hide the others
            traceback.print_exc()
            status, summary = "ERROR", f"{type(exc).__name__}: {exc}"
        rows.append(
            {
                "name": name.removeprefix("bench_"),
                "status": status,
                "seconds": time.perf_counter() - t0,
                "summary": summary,
            }
        )
    return rows


def _takes_argv(func) -> bool:
    import inspect

    try:
        return bool(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return False


def table(rows: list[dict]) -> str:
    width = max([len("benchmark")] + [len(r["name"]) for r in rows])
    out = [f"{'benchmark':<{width}}  status  {'time':>7}  result", f"{'-' * width}  ------  {'-' * 7}  ------"]
    for r in rows:
        out.append(f"{r['name']:<{width}}  {r['status']:<6}  {r['seconds']:>6.1f}s  {r['summary']}")
    return "\n".join(out)


def _render_docs() -> None:
    """Rewrite the benchmark figures in README.md and docs/ from the results just written."""
    from benchmarks import render_docs

    render_docs.main([])  # reports a missing result on stderr; the benchmarks' verdict stands


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = discover(argv or None)
    if not names:
        print("no benchmarks found", file=sys.stderr)
        return 1
    rows = run(names)
    print()
    print(table(rows))
    _render_docs()
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
