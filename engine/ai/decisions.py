"""Smart decision engine (seed §5.1.2): evaluate conditions with reasoning and a confidence.

- Safe-expression conditions (``credit_score>700``) are evaluated exactly: confidence 100, decided by
  ``rule``.
- Natural-language conditions (``"the customer sounds angry"``): with a model, the
  ``evaluate_condition`` prompt with structured output; offline (or when the model fails), a
  transparent keyword/sentiment heuristic over the context values with a LOW confidence (≤ 50) whose
  reasoning says exactly what it looked at.
- The caller (the runner) puts the run into ``waiting`` when ``decision.needs_human(threshold)``.
- Decisions are cached by condition + hash of the context (for expressions: of the keys they read),
  past decisions on the same condition are given to the prompt as history, and every decision is
  recorded in ``ai_decisions``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from engine import records
from engine.dsl.conditions import MISSING, lookup
from engine.dsl.conditions import evaluate_condition as _eval_expr
from engine.dsl.model import Condition
from engine.errors import ConditionError, DSLError

log = logging.getLogger("workbench.ai")

HEURISTIC_MAX_CONFIDENCE = 50


@dataclass
class Decision:
    result: bool
    reasoning: str
    confidence: int
    provider: str  # rule | offline | openai | local | compatible
    decided_by: str  # rule | ai | heuristic | cache | human
    condition: str = ""
    context_hash: str = ""
    warnings: list[str] = field(default_factory=list)

    def needs_human(self, threshold: int = 70) -> bool:
        """True when a person should decide (confidence below the threshold)."""
        return int(self.confidence) < int(threshold)

    def to_dict(self) -> dict:
        return {
            "result": self.result,
            "reasoning": self.reasoning,
            "confidence": self.confidence,
            "provider": self.provider,
            "decided_by": self.decided_by,
            "condition": self.condition,
            "warnings": list(self.warnings),
        }


@dataclass
class NextStateSuggestion:
    next_state: str
    reasoning: str
    confidence: int
    provider: str
    decided_by: str
    warnings: list[str] = field(default_factory=list)

    def needs_human(self, threshold: int = 70) -> bool:
        return int(self.confidence) < int(threshold)


class DecisionOut(BaseModel):
    result: bool
    reasoning: str
    confidence: int


class NextStateOut(BaseModel):
    next_state: str
    reasoning: str
    confidence: int


# --- the offline heuristic ------------------------------------------------------------------

_LEXICONS: dict[str, tuple[set[str], set[str]]] = {
    # category: (words in the condition that select it, words looked for in the context)
    "anger or frustration": (
        {
            "angry",
            "upset",
            "furious",
            "frustrated",
            "annoyed",
            "mad",
            "irate",
            "hostile",
            "rude",
            "unhappy",
            "dissatisfied",
            "negative",
            "complaining",
            "complaint",
        },
        {
            "angry",
            "upset",
            "furious",
            "frustrated",
            "annoyed",
            "mad",
            "irate",
            "unacceptable",
            "terrible",
            "awful",
            "worst",
            "ridiculous",
            "disappointed",
            "disappointing",
            "hate",
            "refund",
            "complaint",
            "complain",
            "outraged",
            "useless",
            "horrible",
            "never",
            "lawyer",
            "cancel",
            "scam",
            "rude",
            "unhappy",
            "broken",
            "!!!",
        },
    ),
    "satisfaction": (
        {"happy", "satisfied", "pleased", "positive", "delighted", "content", "glad"},
        {
            "thanks",
            "thank",
            "great",
            "happy",
            "love",
            "excellent",
            "perfect",
            "awesome",
            "pleased",
            "satisfied",
            "wonderful",
            "amazing",
            "appreciate",
            "good",
        },
    ),
    "urgency": (
        {"urgent", "emergency", "asap", "critical", "immediately", "time-sensitive", "pressing"},
        {
            "urgent",
            "asap",
            "immediately",
            "emergency",
            "critical",
            "now",
            "outage",
            "down",
            "blocked",
            "deadline",
            "today",
            "sev1",
            "p1",
        },
    ),
    "harmful or inappropriate content": (
        {"harmful", "toxic", "offensive", "abusive", "inappropriate", "hateful", "spam", "unsafe", "nsfw", "malicious"},
        {
            "kill",
            "hate",
            "idiot",
            "stupid",
            "scam",
            "spam",
            "free money",
            "click here",
            "winner",
            "viagra",
            "crypto",
            "abuse",
            "attack",
            "racist",
            "nsfw",
            "malware",
            "phishing",
        },
    ),
    "fraud risk": (
        {"fraud", "fraudulent", "suspicious", "risky", "scam"},
        {
            "mismatch",
            "stolen",
            "chargeback",
            "unusual",
            "foreign",
            "vpn",
            "multiple",
            "declined",
            "suspicious",
            "fraud",
            "blacklist",
            "anomaly",
        },
    ),
}
_NEGATIONS = {"not", "no", "never", "n't", "isn't", "doesn't", "isnt", "doesnt"}
_STOP = {
    "the",
    "a",
    "an",
    "is",
    "are",
    "be",
    "was",
    "were",
    "it",
    "this",
    "that",
    "of",
    "to",
    "and",
    "or",
    "in",
    "on",
    "for",
    "with",
    "sounds",
    "looks",
    "seems",
    "appears",
    "feels",
    "like",
    "very",
    "really",
    "has",
    "have",
    "customer",
    "user",
    "email",
    "message",
    "request",
    "ticket",
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def _flatten(context: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in context.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and depth < 3:
            out.extend(_flatten(v, key + ".", depth + 1))
        else:
            out.append((key, v))
    return out[:500]


def heuristic_decision(sentence: str, context: Mapping[str, Any]) -> tuple[bool, int, str]:
    """(result, confidence ≤ 50, reasoning naming exactly what was looked at)."""
    cond_words = _words(sentence)
    negated = any(w in _NEGATIONS or w.endswith("n't") for w in cond_words)
    content = [w for w in cond_words if w not in _STOP and w not in _NEGATIONS]
    flat = _flatten(context or {})
    texts = [(k, str(v)) for k, v in flat if isinstance(v, str)]
    prefix = "Offline heuristic (no AI model available): "
    # 1. a boolean context value whose key names the condition's words
    for k, v in flat:
        if isinstance(v, bool):
            key_words = set(re.split(r"[._]", k.lower()))
            overlap = key_words & set(content)
            if overlap and len(overlap) >= max(1, min(2, len(content) // 2)):
                result = (not v) if negated else v
                return (
                    result,
                    45,
                    (
                        prefix + f"the context value '{k}' is {v} and its name matches "
                        f"{', '.join(sorted(overlap))!r} from the condition"
                        f"{' (the condition is negated)' if negated else ''}; so the answer is "
                        f"{result}. A person should confirm."
                    ),
                )
    # 2. a known category of judgement: look for its words in the text values
    for label, (selectors, lexicon) in _LEXICONS.items():
        if set(content) & selectors:
            hits: list[str] = []
            where: list[str] = []
            for k, text in texts:
                low = text.lower()
                found = sorted({w for w in lexicon if (w in _words(low) if w.isalnum() else w in low)})
                if found:
                    hits.extend(found)
                    where.append(k)
            looked = ", ".join(f"'{k}'" for k, _ in texts[:6]) or "no text values"
            if hits:
                result = not negated
                conf = min(HEURISTIC_MAX_CONFIDENCE, 25 + 5 * len(set(hits)))
                return (
                    result,
                    conf,
                    (
                        prefix + f"looked for words of {label} in the text values {looked}; found "
                        f"{', '.join(repr(h) for h in sorted(set(hits))[:8])} in "
                        f"{', '.join(repr(w) for w in where[:4])}; so the answer is {result}. "
                        "A person should confirm."
                    ),
                )
            result = negated
            return (
                result,
                20,
                (
                    prefix + f"looked for words of {label} in the text values {looked} and found none; "
                    f"so the answer is {result}. A person should confirm."
                ),
            )
    # 3. plain keyword overlap between the condition and the context
    if content:
        matched = sorted(
            {w for w in content for _k, text in texts if w in _words(text)}
            | {w for w in content for k, _v in flat if w in re.split(r"[._]", k.lower())}
        )
        share = len(matched) / len(set(content))
        result = (share >= 0.5) != negated
        conf = 15 + int(20 * share)
        looked = ", ".join(f"'{k}'" for k, _ in flat[:6]) or "an empty context"
        return (
            result,
            conf,
            (
                prefix + f"compared the condition's words {', '.join(repr(w) for w in sorted(set(content)))} "
                f"with the context ({looked}); matched {len(matched)} of {len(set(content))}"
                f"{' (' + ', '.join(matched) + ')' if matched else ''}; so the answer is {result}. "
                "A person should confirm."
            ),
        )
    return False, 5, prefix + "the condition has no words to check against the context; a person should decide."


# --- the service ------------------------------------------------------------------------------


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _now() -> datetime:
    return records.store_time(records.utc_now())


def as_condition(condition: Condition | str) -> Condition:
    """A :class:`Condition` from a Condition or text (a safe expression when it parses as one with an
    operator; a quoted or plain sentence otherwise)."""
    if isinstance(condition, Condition):
        return condition
    text = str(condition).strip()
    if text == "@error":
        return Condition("error", "@error")
    quoted = re.fullmatch(r'"(.*)"', text, re.S)
    if quoted:
        return Condition("natural", quoted.group(1).strip())
    if re.search(r"==|!=|<=|>=|<|>|\bin\s*\[|\bnot\s+in\b", text):
        from engine.dsl.parser import parse

        try:
            model = parse(f"a->b:{text};")
            cond = model.transitions[0].condition
            if cond is not None and cond.kind == "expr":
                return cond
        except DSLError:
            pass
    return Condition("natural", text)


class DecisionService:
    def __init__(self, llm, store=None, threshold: int | None = None):
        self.llm = llm
        self._store = store
        self.threshold = threshold if threshold is not None else llm.settings.decision_threshold
        self._cache: dict[tuple[str, str], Decision] = {}
        self._lock = threading.Lock()

    @property
    def store(self):
        if self._store is None:
            self._store = self.llm.store or False
        return self._store or None

    # --- public API
    def evaluate_condition(
        self,
        condition: Condition | str,
        context: Mapping[str, Any] | None,
        history: list[dict] | None = None,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        state: str | None = None,
        workflow_budget_usd: float | None = None,
        use_cache: bool = True,
    ) -> Decision:
        """Decide ``condition`` against ``context``. Never raises; recorded in ``ai_decisions``."""
        context = dict(context or {})
        cond = as_condition(condition)
        ids = {"workflow_id": workflow_id, "execution_id": execution_id, "state": state}
        if cond.kind == "expr":
            decision = self._rule(cond, context)
        elif cond.kind == "error":
            decision = Decision(
                False, "an @error transition is taken only when the state fails", 100, "rule", "rule", "@error", ""
            )
        else:
            decision = self._natural(cond.text, context, history, ids, workflow_budget_usd, use_cache)
        self._record(decision, ids)
        return decision

    def suggest_next_state(
        self,
        current_state: str,
        context: Mapping[str, Any] | None,
        available_transitions: list,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
    ) -> NextStateSuggestion:
        """Pick the next state among ``available_transitions`` (state names or transitions)."""
        options = []
        for t in available_transitions:
            name = t if isinstance(t, str) else (getattr(t, "target", None) or str(t))
            if name not in options:
                options.append(name)
        context = dict(context or {})
        if not options:
            return NextStateSuggestion("", "no transitions are available", 0, "rule", "rule")
        if len(options) == 1:
            s = NextStateSuggestion(options[0], "only one transition is available", 100, "rule", "rule")
            self._record_choice(current_state, context, s, workflow_id, execution_id)
            return s
        fallback_choice = self._heuristic_next(options, context)

        def fallback() -> NextStateOut:
            return NextStateOut(
                next_state=fallback_choice[0], reasoning=fallback_choice[2], confidence=fallback_choice[1]
            )

        res = self.llm.complete_json(
            "suggest_next_state",
            "suggest_next_state",
            {"current_state": current_state, "available": ", ".join(options), "context": _clip(context)},
            NextStateOut,
            workflow_id=workflow_id,
            execution_id=execution_id,
            state=current_state,
            fallback=fallback,
        )
        out = res.value or fallback()
        warnings = list(res.warnings)
        if res.from_model and out.next_state not in options:
            warnings.append(
                f"the model chose '{out.next_state[:60]}', which is not an available transition; "
                "used the offline heuristic"
            )
            out = fallback()
            s = NextStateSuggestion(out.next_state, out.reasoning, out.confidence, "offline", "heuristic", warnings)
        elif res.from_model:
            s = NextStateSuggestion(
                out.next_state, out.reasoning.strip()[:2000], _clamp(out.confidence), res.provider, "ai", warnings
            )
        else:
            s = NextStateSuggestion(
                out.next_state,
                out.reasoning,
                min(out.confidence, HEURISTIC_MAX_CONFIDENCE),
                "offline",
                "heuristic",
                warnings,
            )
        self._record_choice(current_state, context, s, workflow_id, execution_id)
        return s

    def history(self, condition: str, limit: int = 5) -> list[dict]:
        """Past decisions on ``condition`` (most recent first) from ``ai_decisions``."""
        store = self.store
        if store is None:
            return []
        try:
            rows = store.query(
                "SELECT result, reasoning, confidence, decided_by, timestamp FROM ai_decisions "
                "WHERE condition = ? AND decided_by IN ('ai', 'human', 'heuristic') "
                "ORDER BY timestamp DESC LIMIT ?",
                [condition, int(limit)],
            )
        except Exception as exc:
            log.debug("ai_decisions history lookup failed: %s", exc)
            return []
        return [dict(r) for r in rows]

    # --- internals
    def _rule(self, cond: Condition, context: dict) -> Decision:
        keys = {v: lookup(context, tuple(v.split("."))) for v in cond.variables}
        ctx_hash = _hash({k: (None if v is MISSING else v) for k, v in keys.items()})
        shown = (
            ", ".join(
                f"{k} = {'(missing)' if v is MISSING else json.dumps(v, default=str)[:60]}" for k, v in keys.items()
            )
            or "no context values"
        )
        try:
            result = _eval_expr(cond.expr, context)
        except ConditionError as exc:
            return Decision(
                False,
                f"could not evaluate '{cond.text}': {exc} ({shown}); a person should decide",
                0,
                "rule",
                "rule",
                cond.text,
                ctx_hash,
            )
        return Decision(
            bool(result),
            f"{shown}, so '{cond.text}' is {bool(result)} (exact rule evaluation)",
            100,
            "rule",
            "rule",
            cond.text,
            ctx_hash,
        )

    def _natural(self, sentence: str, context: dict, history, ids: dict, budget, use_cache: bool) -> Decision:
        ctx_hash = _hash(context)
        key = (sentence, ctx_hash)
        if use_cache:
            hit = self._cached(key)
            if hit is not None:
                return hit
        past = history if history is not None else self.history(sentence)
        h_result, h_conf, h_reason = heuristic_decision(sentence, context)

        def fallback() -> DecisionOut:
            return DecisionOut(result=h_result, reasoning=h_reason, confidence=h_conf)

        res = self.llm.complete_json(
            "evaluate_condition",
            "evaluate_condition",
            {
                "condition": sentence,
                "context": _clip(context),
                "history": _history_text(past),
                "state": ids.get("state") or "(unknown)",
            },
            DecisionOut,
            workflow_id=ids.get("workflow_id"),
            execution_id=ids.get("execution_id"),
            state=ids.get("state"),
            fallback=fallback,
            workflow_budget_usd=budget,
        )
        out = res.value or fallback()
        if res.from_model:
            d = Decision(
                bool(out.result),
                out.reasoning.strip()[:2000] or "(the model gave no reasoning)",
                _clamp(out.confidence),
                res.provider,
                "ai",
                sentence,
                ctx_hash,
                list(res.warnings),
            )
        else:
            d = Decision(
                bool(out.result),
                out.reasoning,
                min(_clamp(out.confidence), HEURISTIC_MAX_CONFIDENCE),
                "offline",
                "heuristic",
                sentence,
                ctx_hash,
                list(res.warnings),
            )
        if d.decided_by == "ai":
            with self._lock:
                self._cache[key] = d
        return d

    def _cached(self, key: tuple[str, str]) -> Decision | None:
        with self._lock:
            d = self._cache.get(key)
        if d is None:
            store = self.store
            if store is not None:
                try:
                    rows = store.query(
                        "SELECT result, reasoning, confidence, provider, decided_by FROM ai_decisions "
                        "WHERE condition = ? AND context_hash = ? AND decided_by IN ('ai', 'human') "
                        "ORDER BY timestamp DESC LIMIT 1",
                        [key[0], key[1]],
                    )
                except Exception:
                    rows = []
                if rows:
                    r = rows[0]
                    d = Decision(
                        bool(r["result"]),
                        r["reasoning"] or "",
                        int(r["confidence"] or 0),
                        r["provider"] or "offline",
                        r["decided_by"],
                        key[0],
                        key[1],
                    )
        if d is None:
            return None
        return Decision(
            d.result,
            f"same condition and context as an earlier decision ({d.decided_by}): {d.reasoning}",
            d.confidence,
            d.provider,
            "cache",
            d.condition,
            d.context_hash,
        )

    def _record(self, d: Decision, ids: dict) -> None:
        store = self.store
        if store is None:
            return
        try:
            store.append(
                "ai_decisions",
                {
                    "id": uuid.uuid4().hex,
                    "execution_id": ids.get("execution_id"),
                    "workflow_id": ids.get("workflow_id"),
                    "state": ids.get("state"),
                    "condition": d.condition,
                    "context_hash": d.context_hash,
                    "result": bool(d.result),
                    "chosen": None,
                    "reasoning": self.llm.scrub(d.reasoning)[:4000],
                    "confidence": int(d.confidence),
                    "provider": d.provider,
                    "decided_by": d.decided_by,
                    "timestamp": _now(),
                },
            )
        except Exception as exc:
            log.warning("could not record the decision: %s", exc)

    def _record_choice(self, state: str, context: dict, s: NextStateSuggestion, workflow_id, execution_id) -> None:
        store = self.store
        if store is None:
            return
        try:
            store.append(
                "ai_decisions",
                {
                    "id": uuid.uuid4().hex,
                    "execution_id": execution_id,
                    "workflow_id": workflow_id,
                    "state": state,
                    "condition": "(next state)",
                    "context_hash": _hash(context),
                    "result": None,
                    "chosen": s.next_state,
                    "reasoning": self.llm.scrub(s.reasoning)[:4000],
                    "confidence": int(s.confidence),
                    "provider": s.provider,
                    "decided_by": s.decided_by,
                    "timestamp": _now(),
                },
            )
        except Exception as exc:
            log.warning("could not record the decision: %s", exc)

    def record_human(
        self,
        condition: str,
        context: Mapping[str, Any],
        result: bool,
        *,
        by: str = "user",
        workflow_id: str | None = None,
        execution_id: str | None = None,
        state: str | None = None,
    ) -> Decision:
        """Record a person's answer so later decisions on the same condition see it as history/cache."""
        d = Decision(
            bool(result),
            f"decided by {by}",
            100,
            "human",
            "human",
            as_condition(condition).text,
            _hash(dict(context or {})),
        )
        self._record(d, {"workflow_id": workflow_id, "execution_id": execution_id, "state": state})
        return d

    def _heuristic_next(self, options: list[str], context: dict) -> tuple[str, int, str]:
        flat = _flatten(context)
        truthy_words = set()
        for k, v in flat:
            if v not in (None, False, 0, "", [], {}):
                truthy_words |= set(re.split(r"[._]", k.lower()))
                if isinstance(v, str):
                    truthy_words |= set(_words(v))
        scores = []
        for o in options:
            ws = set(o.lower().split("_"))
            scores.append((len(ws & truthy_words), o))
        best = max(scores, key=lambda x: x[0])
        if best[0] == 0:
            return (
                options[0],
                10,
                (
                    "Offline heuristic (no AI model available): no state name shares words with the "
                    f"context; picked the first available transition '{options[0]}'. A person "
                    "should confirm."
                ),
            )
        matched = sorted(set(best[1].lower().split("_")) & truthy_words)
        return (
            best[1],
            min(HEURISTIC_MAX_CONFIDENCE, 20 + 10 * best[0]),
            (
                f"Offline heuristic (no AI model available): '{best[1]}' shares the words {', '.join(matched)} with the "
                "context's keys and values, more than the other options. A person should confirm."
            ),
        )


def _clamp(value: Any) -> int:
    try:
        return max(0, min(100, int(round(float(value)))))
    except (TypeError, ValueError):
        return 0


def _clip(context: Mapping[str, Any], limit: int = 6000) -> str:
    text = json.dumps(context, sort_keys=True, default=str, indent=1)
    return text if len(text) <= limit else text[:limit] + "\n… (truncated)"


def _history_text(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    lines = []
    for r in rows[:5]:
        lines.append(
            f"- {r.get('result')} ({r.get('confidence')}%, by {r.get('decided_by')}): "
            f"{str(r.get('reasoning') or '')[:200]}"
        )
    return "\n".join(lines)
