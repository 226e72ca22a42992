"""The translator's intermediate representation: actions, stops, loops, parallel blocks, conditions, decisions and the shared reading context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------
# intermediate representation


@dataclass
class Act:
    text: str
    name: str
    terminal: bool = False
    ai: bool = False
    who: str | None = None  # an approval step: who approves
    retries: int | None = None  # "retry up to 3 times": attempts after the first (binding retry)
    retry_wait_s: float | None = None  # "… an hour apart", "wait 10 minutes and try again": the wait between tries
    on_error: list | None = None  # "… and if it still fails, <steps>": the step's @error path
    answer_within_s: float | None = None  # an approval: "if there is no answer within 2 days, …" (timeout_s)
    awaits_reply: bool = False  # an approval that waits for someone's reply to an earlier step ("… call them")


@dataclass
class Stop:
    pass


@dataclass
class Goto:
    target: str  # "step:3", APPROVAL_AGAIN or free text


APPROVAL_AGAIN = "approval:last"  # a Goto back to the last approval step ("… and ask again")


@dataclass
class Until:
    act: Act
    cond: Cond
    give_up_s: float | None = None  # a poll's limit: "give up after 2 hours" (its wait's give_up_after_s)
    on_give_up: list | None = None  # "… and tell support": the wait's @error path


@dataclass
class Par:
    branches: list[list]


@dataclass
class Cond:
    kind: str  # bool | num | cat | nl | expr | error
    text: str  # DSL condition text
    var: str | None = None
    value: Any = None
    subject: tuple[str, ...] = ()
    op: str | None = None
    threshold: float | None = None

    def negated(self) -> Cond | None:
        if self.kind == "bool" and self.var:
            return Cond("bool", f"{self.var}=={not self.value}", self.var, not self.value, self.subject)
        return None

    def negated_comparison(self) -> Cond | None:
        """ "unless the battery is below 20%": the opposite of one comparison (battery_percent>=20), else None."""
        m = re.fullmatch(r"([A-Za-z_][\w.]*)(<=|>=|==|!=|<|>)([^<>=!&|\s]+)", self.text.strip())
        if self.kind in ("num", "cat") and m and not re.search(r"\b(?:and|or|not)\b", self.text):
            flipped = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}[m.group(2)]
            text = f"{m.group(1)}{flipped}{m.group(3)}"
            return Cond("num", text, self.var, None, self.subject, flipped, self.threshold)
        return None


@dataclass
class Decision:
    branches: list[list]  # [cond | None, body(list), terminal(bool)]
    force_rejoin: bool = False
    attach_hint: tuple[str, ...] = ()
    closed: bool = False


@dataclass
class Ctx:
    topic: list[str] = field(default_factory=list)
    topics: list[list[str]] = field(default_factory=list)
    entity: list[str] = field(default_factory=list)
    prev_action: str = ""
    attributes: list[str] = field(default_factory=list)
    quantity_var: str | None = None
    question: Any = None
    subject_noun: list[str] = field(default_factory=list)
    person: str | None = None
    prev_name: str = ""
    handlers: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    state_text: dict[str, str] = field(default_factory=dict)
    ai_span: str = ""  # the part of the current sentence the LLM/AI is asked to do
    approval_seen: bool = False  # an approval step was read
    categories: list[str] = field(default_factory=list)  # values of a "classify … as a, b or c" step
    category_var: str = "category"
    last_ai_var: str | None = None  # the context name an LLM step's answer lands in
    done_names: list[str] = field(default_factory=list)  # names of the actions read so far
    last_group: list = field(default_factory=list)  # the actions of the last "a, b and c" clause
    next_sentence: str = ""  # the sentence after the one being read ("…; otherwise …" keeps a step in its branch)
    after_join: bool = False  # the next action follows a fan-in: "… in parallel, then merge"
    fallback_of: Any = None  # the Act an "if that fails, <fallback>" was read onto (its 'otherwise' goes on)
    retry_target: Any = None  # the Act a "retry up to N times" applies to (its fallback comes next)
    sentence_no: int = 0  # which top-level sentence is being read
    action_sentence: list[int] = field(default_factory=list)  # the sentence of each name in done_names
    last_cond: tuple = ()  # (subject words, actions read so far) of the last condition with its own subject
    colon_heads: list[str] = field(default_factory=list)  # the short phrases before a colon in the whole text
    join_heads: list[str] = field(default_factory=list)  # the head noun of each branch's last step at a fan-in
    people: str | None = None  # the last plural person noun mentioned ("to the attendees"): what 'them' may mean


def _join_as_bool(cond: Cond) -> Cond:
    """A join condition where no fan-in precedes the decision: read it from the context as a flag."""
    return Cond("bool", f"{cond.text}==True", cond.text, True)


def _approval_place(seq: list) -> str | None:
    """'top' when the latest approval step is on the main path of ``seq``, 'branch' when only inside a
    decision's branch, ``None`` when there is none."""
    for st in reversed(seq):
        if isinstance(st, Act) and st.who is not None:
            return "top"
        if isinstance(st, Decision):
            for b in st.branches:
                if _approval_place(b[1]) is not None:
                    return "branch"
        if isinstance(st, Par):
            for br in st.branches:
                if _approval_place(br) is not None:
                    return "top"
    return None


def _is_par_hook(seq: list, hook: list) -> bool:
    return any(isinstance(x, Par) and x.branches is hook for x in seq)


def _terminal(body: list) -> bool:
    for st in body:
        if isinstance(st, Stop):
            return True
        if isinstance(st, Act) and st.terminal:
            return True
    return False
