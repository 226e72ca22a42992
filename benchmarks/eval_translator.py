"""Score the NL -> DSL translator on benchmarks/translator_eval_set.json.

    python -m benchmarks.eval_translator            # offline translator (and the LLM one if OPENAI_BASE_URL is set)
    python -m benchmarks.eval_translator --offline  # offline only
    python -m benchmarks.eval_translator --show d05 # print the DSL of matching cases

Metrics per split (dev / heldout) and overall:
  valid      share of outputs the DSL validator accepts (no errors)
  recall     share of expected key states found (a key state is a list of word groups; a state name
             matches when every group has an alternative "a|b" contained in it)
  decision   share of cases whose "has a decision" matches the expectation
  parallel   share of cases whose "has a fan-out" matches the expectation
  min_states share of cases with at least the expected number of states
Writes benchmarks/results/translator_eval.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.dsl.model import END, START  # noqa: E402
from engine.dsl.validate import check  # noqa: E402
from engine.errors import DSLError  # noqa: E402

SET_PATH = Path(__file__).with_name("translator_eval_set.json")
OUT_PATH = Path(__file__).with_name("results") / "translator_eval.json"


def key_matches(key: list[str], state: str) -> bool:
    return all(any(alt in state for alt in group.split("|")) for group in key)


def score_case(case: dict, dsl: str) -> dict:
    try:
        model, rep = check(dsl)
        valid = not rep.errors
    except DSLError:
        return {
            "id": case["id"],
            "split": case["split"],
            "valid": False,
            "recall": 0.0,
            "decision_ok": False,
            "parallel_ok": False,
            "min_states_ok": False,
            "missing": [" ".join(k) for k in case["key_states"]],
            "dsl": dsl,
        }
    states = [s for s in model.states if s not in (START, END)]
    found, missing = 0, []
    for key in case["key_states"]:
        if any(key_matches(key, s) for s in states):
            found += 1
        else:
            missing.append(" ".join(key))
    has_decision = any(t.is_conditional for t in model.transitions)
    has_parallel = any(t.is_fan_out for t in model.transitions)
    return {
        "id": case["id"],
        "split": case["split"],
        "valid": valid,
        "recall": found / len(case["key_states"]) if case["key_states"] else 1.0,
        "decision_ok": has_decision == case["has_decision"],
        "parallel_ok": has_parallel == case["has_parallel"],
        "min_states_ok": len(states) >= case["min_states"],
        "states": len(states),
        "missing": missing,
        "dsl": dsl,
    }


def aggregate(rows: list[dict]) -> dict:
    n = len(rows) or 1
    return {
        "cases": len(rows),
        "valid": sum(r["valid"] for r in rows) / n,
        "recall": sum(r["recall"] for r in rows) / n,
        "decision": sum(r["decision_ok"] for r in rows) / n,
        "parallel": sum(r["parallel_ok"] for r in rows) / n,
        "min_states": sum(r["min_states_ok"] for r in rows) / n,
    }


def run(translate, cases: list[dict]) -> tuple[list[dict], float]:
    rows = []
    t0 = time.perf_counter()
    for case in cases:
        rows.append(score_case(case, translate(case["text"])))
    return rows, time.perf_counter() - t0


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'case':34} {'valid':>5} {'recall':>6} {'dec':>4} {'par':>4} {'min':>4}  missing")
    for r in rows:
        print(
            f"{r['id']:34} {'yes' if r['valid'] else 'NO':>5} {r['recall']:6.2f} "
            f"{'ok' if r['decision_ok'] else 'X':>4} {'ok' if r['parallel_ok'] else 'X':>4} "
            f"{'ok' if r['min_states_ok'] else 'X':>4}  {', '.join(r['missing'])}"
        )
    print(f"{'split':10} {'cases':>5} {'valid':>6} {'recall':>6} {'decision':>8} {'parallel':>8} {'min_states':>10}")
    for split in ("dev", "heldout", "blind", "all"):
        sel = [r for r in rows if split == "all" or r["split"] == split]
        a = aggregate(sel)
        print(
            f"{split:10} {a['cases']:5d} {a['valid']:6.2f} {a['recall']:6.2f} {a['decision']:8.2f} "
            f"{a['parallel']:8.2f} {a['min_states']:10.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offline", action="store_true", help="score only the offline translator")
    ap.add_argument("--show", help="print the DSL of cases whose id contains this text")
    ap.add_argument("--out", default=str(OUT_PATH))
    args = ap.parse_args(argv)
    cases = json.loads(SET_PATH.read_text())["cases"]

    from engine.ai.offline_translator import translate_offline

    results: dict = {"set": str(SET_PATH.relative_to(ROOT)), "cases": len(cases), "runs": {}}
    offline_rows, secs = run(lambda text: translate_offline(text).dsl, cases)
    print_table("offline translator", offline_rows)
    results["runs"]["offline"] = {
        "seconds": round(secs, 3),
        "summary": {
            s: aggregate([r for r in offline_rows if s == "all" or r["split"] == s])
            for s in ("dev", "heldout", "blind", "all")
        },
        "cases": offline_rows,
    }
    if os.environ.get("OPENAI_BASE_URL") and not args.offline:
        from engine.ai.settings import AISettings
        from engine.ai.translator import get_ai

        ai = get_ai(AISettings.from_env())
        providers: list[str] = []

        def llm_translate(text: str) -> str:
            tr = ai.translator.translate(text)
            providers.append(tr.provider)
            return tr.dsl

        llm_rows, secs = run(llm_translate, cases)
        print_table(f"LLM translator ({ai.settings.model} at {ai.settings.base_url})", llm_rows)
        results["runs"]["llm"] = {
            "model": ai.settings.model,
            "seconds": round(secs, 3),
            "fell_back_offline": sum(p == "offline" for p in providers),
            "summary": {
                s: aggregate([r for r in llm_rows if s == "all" or r["split"] == s])
                for s in ("dev", "heldout", "blind", "all")
            },
            "cases": llm_rows,
        }
    if args.show:
        for r in offline_rows:
            if args.show in r["id"]:
                print(f"\n--- {r['id']}\n{r['dsl']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
