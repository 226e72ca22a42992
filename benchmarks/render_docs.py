"""Rewrite the benchmark figures in README.md and docs/*.md from benchmarks/results/*.json.

A generated block sits between two markers; everything between them is replaced::

    <!-- bench:engine -->
    …generated, do not edit…
    <!-- /bench -->

    python -m benchmarks.render_docs           # rewrite the blocks in place
    python -m benchmarks.render_docs --check   # exit 1 (and name the files) when a block is out of date

``benchmarks/run_all.py`` calls it after the benchmarks, and ``tests/test_docs.py`` fails when a
results file changed and the docs were not re-rendered.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
OPENING = re.compile(r"<!-- bench:[a-z_]+ -->")
BLOCK = re.compile(r"(<!-- bench:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /bench -->)", re.S)


class RenderError(Exception):
    """A marker names an unknown block, or a results file is missing or lacks a field."""


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def load_results(results_dir: Path = RESULTS_DIR) -> dict[str, dict]:
    """Every ``<name>.json`` in the results directory, keyed by name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))}


# ---------------------------------------------------------------- formatting helpers


def _n(value: float) -> str:
    """An integer with thousands separators."""
    return f"{value:,.0f}"


def _s(value: float) -> str:
    return f"{value:.3f} s"


def _pct(value: float, digits: int = 0) -> str:
    return f"{value * 100:.{digits}f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _need(results: dict, name: str) -> dict:
    if name not in results:
        raise RenderError(f"benchmarks/results/{name}.json is missing: run `python -m benchmarks.run_all` first")
    return results[name]


# ---------------------------------------------------------------- blocks

ENGINE_GOAL = 1.25


def engine_block(results: dict) -> list[str]:
    """Engine against bare Ray (bench_engine): the table, W4 and the verdict against the 1.25× goal."""
    data = _need(results, "engine")
    table = [r for r in data["rows"] if "raw_ray_s" in r]
    lines = _table(
        [
            "workload",
            "bare Ray (plain `@ray.remote`)",
            "`run_state_task` by hand",
            "engine, every state a Ray task",
            "ratio to bare",
            "engine, `auto` (learned placement)",
            "ratio to bare",
            "load average",
        ],
        [
            [
                r["workload"],
                _s(r["raw_ray_s"]),
                _s(r["task_wrapper_s"]) if "task_wrapper_s" in r else "–",
                _s(r["engine_ray_s"]),
                f"{r['ratio_ray']:.2f}×",
                _s(r["engine_auto_s"]),
                f"{r['ratio_auto']:.2f}×",
                "–".join(f"{x:g}" for x in r.get("load_avg", [])) or "–",
            ]
            for r in table
        ],
    )
    for r in data["rows"]:
        if "runs" in r:
            lines += [
                "",
                f"W4: {r['completed']:,}/{r['runs']:,} executions completed, {r['peak_live_executions']:,} in "
                f"flight at once in one process (3 Ray states each), {r['extra_threads']} extra threads — "
                f"one driver thread for all — in {r['seconds']:.2f} s.",
            ]
    met = [f"{r['workload'].split()[0]} ({r['ratio_ray']:.2f}×)" for r in table if r["ratio_ray"] <= ENGINE_GOAL]
    missed = [f"{r['workload'].split()[0]} ({r['ratio_ray']:.2f}×)" for r in table if r["ratio_ray"] > ENGINE_GOAL]
    fastest = max(r["ratio_auto"] for r in table)
    busy = [
        f"{r['workload'].split()[0]} {r['busy_cpu_before']:.0%}" for r in table if r.get("busy_cpu_before") is not None
    ]
    lines += [
        "",
        f"Median of {data['repeats']} interleaved repeats, recording on ({_n(data['recorded_transitions'])} "
        "transitions recorded)"
        + (
            "; each workload starts once the machine is quiet (under 25% busy CPU, waiting at most 30 s: "
            + ", ".join(busy)
            + " busy before it)"
            if busy
            else ""
        )
        + f". Goal ≤ {ENGINE_GOAL}× bare Ray with every state on Ray: "
        f"met for {', '.join(met) or 'none'}; missed for {', '.join(missed) or 'none'}. "
        f'Stretch goal (faster than bare Ray with `execution = "auto"`, from the second run of a workflow): '
        f"{'met' if fastest < 1 else 'missed'}, every workload at ≤ {fastest:.2f}× bare Ray"
        + (f" ({1 / fastest:.1f}–{1 / min(r['ratio_auto'] for r in table):.0f}× faster)." if fastest < 1 else "."),
    ]
    start = results.get("engine_startup")
    if start:
        m = start["median"]
        first = ", ".join(f"{k} {v:,.0f} ms" for k, v in m["first_state_ms"].items())
        loads = start["samples"].get("load_avg") or [0]
        lines += [
            "",
            f"Start-up (`python -m benchmarks.bench_engine_startup`, median of {start['repeats']}, load average "
            f"{min(loads):g}–{max(loads):g}): `api.start` to the first state running: {first} (cold = the "
            f"process's first run, which starts Ray). `workbench run {start['template']}` from process start to "
            f"done: {m['cli_local_s']:.1f} s without a service (the process starts its own Ray), "
            f"{m['cli_service_s']:.1f} s with a running service.",
        ]
    return lines


def recovery_block(results: dict) -> list[str]:
    """Fault injection (bench_recovery): outcome per fault class and per strategy."""
    data = _need(results, "recovery")
    lines = _table(
        ["fault class", "runs", "ended correctly", "needed a person", "retries"],
        [
            [
                r["class"] + ("" if r["recoverable"] else " (unrecoverable)"),
                str(r["runs"]),
                f"{r['correct']} ({_pct(r['rate'])})",
                str(r["needed_a_person"]),
                str(r["retries"]),
            ]
            for r in data["rows"]
        ],
    )
    lines += [
        "",
        f"Recoverable runs recovered without a person: **{_pct(data['recoverable_rate'], 1)}**. "
        f"Every unrecoverable run ended compensated or escalated: "
        f"{'yes' if data['unrecoverable_all_handled'] else 'no'}. Lost records {data['lost_records']}, "
        f"stuck runs {data['stuck_runs']}; {data['seconds']:.1f} s in all.",
        "",
    ]
    lines += _table(
        ["error class", "strategy", "actions", "succeeded"],
        [[s["error_class"], s["recovery_strategy"], str(s["n"]), str(s["ok"])] for s in data.get("strategies", [])],
    )
    return lines


def dsl_block(results: dict) -> list[str]:
    """Parse + validate speed (bench_dsl)."""
    d = _need(results, "dsl")
    verdict = "met" if d["median_ms"] < d["target_ms"] else "missed"
    return [
        f"Parse and validate a generated {_n(d['transitions'])}-transition workflow ({d['states']} states, "
        f"{d['parallel_groups']} fan-out/fan-in pairs, {_n(d['bytes'])} bytes): median **{d['median_ms']:.1f} ms** "
        f"(parse {d['parse_median_ms']:.1f} ms + validate {d['validate_median_ms']:.1f} ms; min "
        f"{d['min_ms']:.1f}, max {d['max_ms']:.1f} over {d['runs']} runs). Target < {d['target_ms']:.0f} ms: "
        f"{verdict}. Python {d['python']}, lark {d['lark']}, {d['cpus']} CPUs, measured {d['measured_at'][:10]}."
    ]


STORE_TARGET_ROWS_PER_S = 50_000


def store_block(results: dict) -> list[str]:
    """Store throughput and query times (bench_store)."""
    d = _need(results, "store")
    verdict = "met" if d["rows_per_s"] >= STORE_TARGET_ROWS_PER_S else "missed"
    lines = _table(
        ["workload", "result"],
        [
            [
                f"{_n(d['rows'])} `state_transitions` rows, `append_many` batches of {d['batch']}, then `flush`",
                f"**{_n(d['rows_per_s'])} rows/s** wall clock ({d['append_flush_s']:.2f} s); "
                f"{_n(d['rows_per_cpu_s'])} rows per CPU-second",
            ],
            ["single-row `append`", f"{d['single_append_us']:.0f} µs"],
            [
                f"`count(*)` / group-by over the rows, {d['segments_before_compact']} segments",
                f"{d['count_query_ms']:.1f} ms / {d['groupby_query_ms']:.1f} ms",
            ],
            [f"`compact()` ({d['compact_s']:.2f} s), then the group-by", f"{d['groupby_after_compact_ms']:.1f} ms"],
        ],
    )
    lines += [
        "",
        f"Target ≥ {_n(STORE_TARGET_ROWS_PER_S)} rows/s: {verdict}. Load average {d['load_avg_1m']} "
        f"during the run (wall clock depends on it, CPU time does not); Python {d['python']}, "
        f"{d['cpus']} CPUs, measured {d['measured_at'][:10]}.",
    ]
    return lines


def _view_label(name: str) -> str:
    scope = "all workflows" if name.startswith("all_workflows") else "one workflow"
    span = "all time" if "all_time" in name else "last 30 days"
    return f"{scope}, {span}"


def analytics_block(results: dict) -> list[str]:
    """Analytics page queries over ~1M records (bench_analytics)."""
    d = _need(results, "analytics")
    rows = []
    for view, queries in d["views"].items():
        slowest = max(queries, key=lambda q: queries[q]["max_s"])
        rows.append(
            [
                _view_label(view),
                "after"
                if view.endswith("_compacted")
                else f"before ({d['segments_before_compact']} segments per table)",
                f"{queries[slowest]['max_s']:.2f} s (`{slowest}`)",
                f"{d['page_total_median_s'][view]:.2f} s",
            ]
        )
    r = d["rows"]
    lines = [
        f"{_n(r['state_transitions'])} `state_transitions` rows ({_n(r['workflow_executions'])} runs, plus "
        f"{_n(r['recovery_actions'])} recovery actions, {_n(r['ai_decisions'])} AI decisions and "
        f"{_n(r['llm_calls'])} LLM calls) written with `append_many` in {d['generate_s']:.0f} s; then every "
        f"query the Analytics page runs, repeated:",
        "",
    ]
    lines += _table(["view", "`compact()`", "slowest query (worst repeat)", "whole page (sum of medians)"], rows)
    verdict = "met" if d["worst_query_s"] < d["target_s"] else "missed"
    m = re.fullmatch(r"(\w+) \((\w+)\)", d["slowest"])
    slowest = f"`{m.group(1)}`, {_view_label(m.group(2))}" if m else d["slowest"]
    lines += [
        "",
        f"Target < {d['target_s']:.0f} s per query: {verdict} (worst {d['worst_query_s']:.2f} s, "
        f"{slowest}). `compact()` took {d['compact_s']:.2f} s; {d['cpus']} CPUs, measured "
        f"{d['measured_at'][:10]}.",
    ]
    return lines


def optimizer_block(results: dict) -> list[str]:
    """Predicted against measured speed-up of an applied parallelization (bench_optimizer)."""
    d = _need(results, "optimizer")
    p = d["suggestion"]["prediction"]
    kept = "; ".join(f"`{k['first']} -> {k['second']}` ({k['reason']})" for k in d["kept_sequential"]) or "none"
    groups = "; ".join("[" + ",".join(g) + "]" for g in d["suggested_groups"])
    return [
        f"- Suggested parallel group: `{groups}`; kept sequential: {kept}. "
        f"Dependent pair grouped: {'yes (wrong)' if d['dependent_pair_grouped'] else 'no'}.",
        f"- Predicted gain {p['gain_ms'] / 1000:.3f} s per run ({p['sequential_ms'] / 1000:.2f} s of states in "
        f"sequence, makespan {p['parallel_ms'] / 1000:.2f} s on {p['slots']} slots); measured "
        f"{d['measured_gain_ms'] / 1000:.3f} s: median {d['median_v1_ms'] / 1000:.3f} s → "
        f"{d['median_v2_ms'] / 1000:.3f} s over {d['runs_per_version']} runs per version.",
        f"- **Speed-up predicted ×{d['predicted_speedup']:.2f}, measured ×{d['measured_speedup']:.2f}** "
        f"({_pct(d['speedup_error'], 1)} apart; target within {_pct(d['tolerance'])}: "
        f"{'met' if d['ok'] else 'missed'}). Score {d['score_before']} → potential {d['potential_score']}.",
        f"- {d['significance']}",
    ]


SPLITS = [("dev", "dev"), ("heldout", "held-out"), ("blind", "blind"), ("all", "all")]


def translator_block(results: dict) -> list[str]:
    """Offline (and model, when run) translator scores per split (eval_translator)."""
    d = _need(results, "translator_eval")
    rows = []
    for provider, run in d["runs"].items():
        for key, label in SPLITS:
            s = run["summary"].get(key)
            if s:
                rows.append(
                    [provider, label, str(s["cases"])]
                    + [f"{s[k]:.2f}" for k in ("valid", "recall", "decision", "parallel", "min_states")]
                )
    return _table(
        [
            "translator",
            "split",
            "cases",
            "valid",
            "key-state recall",
            "decision structure",
            "parallel structure",
            "min states",
        ],
        rows,
    )


def headline_block(results: dict) -> list[str]:
    """One line per benchmark, for README."""
    eng, rec, dsl = _need(results, "engine"), _need(results, "recovery"), _need(results, "dsl")
    sto, ana, opt = _need(results, "store"), _need(results, "analytics"), _need(results, "optimizer")
    tr = _need(results, "translator_eval")["runs"]["offline"]["summary"]["all"]
    ratios = ", ".join(f"{r['workload'].split()[0]} {r['ratio_ray']:.2f}×" for r in eng["rows"] if "ratio_ray" in r)
    autos = max(r["ratio_auto"] for r in eng["rows"] if "ratio_auto" in r)
    return [
        f'- Engine vs bare Ray, every state a Ray task: {ratios}; with `execution = "auto"` ≤ {autos:.2f}×.',
        f"- Auto-recovery under injected faults: {_pct(rec['recoverable_rate'], 1)} of recoverable runs "
        f"recovered without a person; lost records {rec['lost_records']}, stuck runs {rec['stuck_runs']}.",
        f"- DSL: parse + validate {_n(dsl['transitions'])} transitions in {dsl['median_ms']:.1f} ms (median).",
        f"- Store: {_n(sto['rows_per_s'])} rows/s appended; analytics page's slowest query over "
        f"{_n(ana['rows']['state_transitions'])} transitions {ana['worst_query_s']:.2f} s.",
        f"- Optimizer: speed-up predicted ×{opt['predicted_speedup']:.2f}, measured ×{opt['measured_speedup']:.2f}.",
        f"- Offline translator on {tr['cases']} descriptions: valid {_pct(tr['valid'])}, key-state recall "
        f"{tr['recall']:.2f}, parallel structure {tr['parallel']:.2f}.",
    ]


BLOCKS: dict[str, Callable[[dict], list[str]]] = {
    "engine": engine_block,
    "recovery": recovery_block,
    "dsl": dsl_block,
    "store": store_block,
    "analytics": analytics_block,
    "optimizer": optimizer_block,
    "translator": translator_block,
    "headline": headline_block,
}


# ---------------------------------------------------------------- rendering


def render_text(text: str, results: dict) -> str:
    """``text`` with every ``<!-- bench:NAME -->`` block regenerated from ``results``."""

    def replace(m: re.Match) -> str:
        name = m.group("name")
        if name not in BLOCKS:
            raise RenderError(f"unknown block <!-- bench:{name} --> (known: {', '.join(sorted(BLOCKS))})")
        try:
            lines = BLOCKS[name](results)
        except (KeyError, TypeError, ValueError) as exc:
            raise RenderError(f"block '{name}': the results file lacks or mistypes {exc}") from None
        return m.group(1) + "\n".join(lines) + "\n" + m.group(4)

    out = BLOCK.sub(replace, text)
    opened, closed = len(OPENING.findall(out)), out.count("<!-- /bench -->")
    if opened != closed:
        raise RenderError(f"{opened} opening '<!-- bench:NAME -->' markers but {closed} '<!-- /bench -->'")
    return out


def stale_files(root: Path = ROOT, results_dir: Path | None = None) -> dict[Path, str]:
    """Doc files whose generated blocks differ from a fresh rendering: path → rendered text."""
    results = load_results(results_dir or root / "benchmarks" / "results")
    out = {}
    for path in doc_files(root):
        if path.exists():
            text = path.read_text(encoding="utf-8")
            new = render_text(text, results)
            if new != text:
                out[path] = new
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.render_docs", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report out-of-date files (exit 1 if any)")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        stale = stale_files(ROOT)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, text in stale.items():
        rel = path.relative_to(ROOT)
        if args.check:
            print(f"{rel}: out of date; run `python -m benchmarks.render_docs`", file=sys.stderr)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"rewrote {rel}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
