"""Offline NL -> DSL translator: deterministic, no model, always returns valid DSL.

Understands (in any mix):

- numbered / bulleted lists, "Step 1: …", nested sub-bullets under "if …:" or "in parallel:" items;
- sequence words: then, next, after that, afterwards, finally, first …, "after receiving X, …";
- decisions: "if / when / in case / provided / unless … , … ; otherwise / else / if not …",
  postfix "… if …", multi-way "approve when above 700, review between 600 and 700, decline otherwise",
  yes/no ("if the payment succeeds" -> payment_success==True, its else -> ==False),
  categories ("if severity is critical" -> severity=='critical'), numbers with units and currency,
  subjective judgements ("if the email sounds angry") as natural-language conditions;
- parallel work: "in parallel / at the same time / simultaneously / concurrently / meanwhile", and one
  step beside another ("ship it in parallel with / while / alongside sending a receipt");
- arrows "a -> b -> c" (also → and =>); loops "… until it completes", "go back to step 1";
  "stop" / terminal actions (reject, cancel…) end their branch; "if any step fails, …" adds @error paths,
  "if the import fails, …" the import step's @error path; "if there is no answer within 2 days, …" after an
  approval is that approval's time limit (timeout_s) and its @error path;
- lead phrases (lead_phrases.py): "for every damaged box, take a photo" is take_photo, "Complete forms: pass
  them to HR" is about the forms, singular "they" is the last person, "when the ice has melted, …" opening
  the text is a first step waiting for it (not a trigger);
- hand-offs (recipient_words.py): "send them to HR" keeps the object and the recipient (send_forms_hr),
  "send the contract back to the client" drops the direction word.

The text is only ever turned into identifiers and condition literals, never executed. The result is
checked with :func:`engine.dsl.validate.check` and repaired structurally if needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.ai import _words as W
from engine.ai.offline_translator.builder import Builder
from engine.ai.offline_translator.emit import Compiler, Exit
from engine.ai.offline_translator.name_words import _content, _valid_name
from engine.ai.offline_translator.repair import repair
from engine.ai.offline_translator.segmentation import _prepare
from engine.dsl.model import START
from engine.errors import DSLError

__all__ = ["OfflineResult", "translate_offline", "repair"]


# ---------------------------------------------------------------------------------------------
# entry point


@dataclass
class OfflineResult:
    dsl: str
    state_text: dict[str, str]
    ai_states: set[str]
    notes: list[str]
    proposals: dict[str, list[dict]] = field(default_factory=dict)
    approvals: dict[str, str] = field(default_factory=dict)  # approval state -> who approves
    retries: dict[str, int] = field(default_factory=dict)  # state -> retries before its @error path
    retry_waits: dict[str, float] = field(default_factory=dict)  # state -> seconds between its tries
    answer_within: dict[str, float] = field(default_factory=dict)  # approval state -> its timeout_s
    give_ups: dict[str, float] = field(default_factory=dict)  # a poll's wait state -> its give_up_after_s


def translate_offline(text: str) -> OfflineResult:
    """Translate plain language to valid DSL without a model."""
    from engine.dsl.validate import check

    raw = text or ""
    if not raw.strip():
        return OfflineResult(
            "start->review_request;\nreview_request->end;\n",
            {},
            set(),
            ["the description was empty; here is a one-step workflow to start from"],
        )
    # already DSL? keep it when it is valid
    if "->" in raw and ";" in raw:
        try:
            model, rep = check(raw)
            if not rep.errors:
                from engine.dsl.printer import to_dsl

                return OfflineResult(to_dsl(model), {}, set(), ["the description is already valid DSL"])
        except DSLError:
            pass
    from engine.ai.offline_translator.retries import poll_phrasing
    from engine.ai.proposals import extract

    found, raw_steps = extract(poll_phrasing(raw[:20_000]))
    proposals = found.to_dict()
    prepared = _prepare(raw_steps)
    builder = Builder()
    try:
        steps = builder.build(prepared)
    except RecursionError:  # pragma: no cover - absurdly nested input
        steps = []
    comp = Compiler(builder.ctx)
    pending = comp.seq(steps, [Exit(START)])
    comp.finish(pending)
    comp.add_handlers(builder.ctx.handlers)
    if not comp.order or not any(s[0] == (START,) for s in comp.statements):
        words = [w for w in _content(W.tokens(prepared)) if w.isalpha()][:3] or ["review", "request"]
        name = _valid_name(W.snake(words))
        dsl = f"start->{name};\n{name}->end;\n"
        return OfflineResult(
            dsl,
            {name: raw.strip()[:200]},
            set(),
            ["no steps were recognised; made a one-step workflow from the description"] + found.notes,
            proposals,
        )
    dsl, notes = repair(comp.dsl(), [s for s in comp.order if comp.kinds.get(s) == "action"])
    model_states = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*->", dsl))  # a retried step repair dropped is not kept
    retries = {s: n for s, n in comp.retries.items() if s in model_states}
    waits = {s: w for s, w in comp.retry_waits.items() if s in retries}
    answer_within = {s: w for s, w in comp.answer_within.items() if s in model_states}
    give_ups = {s: w for s, w in comp.give_ups.items() if s in model_states}
    return OfflineResult(
        dsl,
        comp.text_of,
        comp.ai_states,
        builder.ctx.notes + notes + found.notes,
        proposals,
        comp.approvals,
        retries,
        waits,
        answer_within,
        give_ups,
    )
