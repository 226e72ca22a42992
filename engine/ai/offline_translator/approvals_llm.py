"""Approval and LLM steps, and the join conditions of a fan-in ("if both pass" / "if any fails")."""

from __future__ import annotations

import re

from engine.ai import _words as W

# ---------------------------------------------------------------------------------------------
# approvals, LLM steps, join conditions, enumerations (issue 16)

_ROLE_WORDS = {
    "council",
    "panel",
    "cab",
    "manager",
    "lead",
    "director",
    "chair",
    "committee",
    "cfo",
    "ceo",
    "cto",
    "coo",
    "counsel",
    "producer",
    "supervisor",
    "reviewer",
    "team",
    "hr",
    "it_team",
    "owner",
    "editor",
    "analyst",
    "adjuster",
    "underwriter",
    "buyer",
    "controller",
    "finance",
    "legal",
    "admin",
    "head",
    "officer",
    "approver",
    "boss",
    "partner",
    "principal",
    "architect",
    "board",
    "compliance",
    "security",
    "someone",
    "person",
    "human",
    "teacher",
    "professor",
    "doctor",
    "physician",
    "auditor",
    "accountant",
    "lawyer",
    "vp",
    "president",
    "founder",
    "client",
    "customer",
    "sponsor",
    "steward",
    "coordinator",
    "specialist",
    "expert",
    "engineer",
    "qa",
    "moderator",
    "recruiter",
    "mentor",
    "approvers",
    "managers",
    "reviewers",
    "leads",
}
_APPROVE_VERB = (
    r"(?:approve|approves|sign\s+off(?:\s+on)?|signs\s+off(?:\s+on)?|sign-off|confirm|confirms|ok|okay|okays|"
    r"authori[sz]e|authori[sz]es|review\s+and\s+approve|reviews\s+and\s+approves|green-?light|greenlights|"
    r"give\s+the\s+go-ahead(?:\s+for)?)"
)
_APPROVAL_NOUN = (
    r"(?:approval|sign-off|signoff|sign\s+off|ok|okay|go-ahead|go\s+ahead|consent|authori[sz]ation|"
    r"confirmation|green\s+light|signature|countersignature)"
)
_DET = r"(?:the|a|an|each|every|their|his|her|our|your|its|this|that|some)"
_WHICH = (  # which approval ("a second approval", "the manager's written approval"), not who gives it
    r"(?:second|third|final|first|formal|written|explicit|additional|extra|separate|further|another|one\s+more|"
    r"quick|manual|new|fresh|prior|official|last)"
)
_APPROVAL_PATTERNS = [
    # "purchase orders above 10k must be approved by the procurement manager"
    re.compile(
        rf"^(?P<obj>.{{0,80}}?)\s*(?:must|should|needs?\s+to|has\s+to|have\s+to|will|is\s+to|are\s+to)?\s*(?:be|get|gets)\s+"
        rf"(?:approved|signed\s+off|authori[sz]ed|okayed|ok'd|reviewed\s+and\s+approved|green-?lit)\s+by\s+"
        rf"(?:{_DET}\s+)?(?P<who>[\w' -]{{1,40}}?)\s*$",
        re.I,
    ),
    # "ask the manager to approve it", "have the editor approve the draft", "get legal to sign off"
    re.compile(
        rf"^(?:ask|asks|have|has|get|gets|let|request|need|needs|require|requires|wait\s+for|waits\s+for)\s+"
        rf"(?:{_DET}\s+)?(?P<who>[\w' -]{{1,40}}?)\s+(?:to\s+)?(?:{_APPROVE_VERB}|review)\b(?P<obj>.*)$",
        re.I,
    ),
    # "get the marketing lead's approval", "needs the CFO's sign-off", "wait for the manager's OK"
    re.compile(
        rf"^(?:(?:the\s+|all\s+|every\s+|each\s+)?[\w-]+(?:\s+[\w-]+){{0,3}}\s+(?=needs?\b|requires?\b|must\s+get\b|must\s+have\b))?"
        rf"(?:get|gets|obtain|request|requests|need|needs|require|requires|must\s+get|must\s+have|wait\s+for|"
        rf"waits\s+for|await|seek|collect)\s+(?:{_DET}\s+)?(?:(?P<who>[\w -]{{1,40}}?)(?:'s|s'|’s)?\s+)?(?:{_WHICH}\s+)*{_APPROVAL_NOUN}\b(?P<obj>.*)$",
        re.I,
    ),
    # "X must approve the vendor", "the producer approves", "if the committee chair approves"
    re.compile(
        rf"^(?:{_DET}\s+)?(?P<who>[\w' -]{{1,40}}?)\s+(?:must\s+|should\s+|needs\s+to\s+|has\s+to\s+|have\s+to\s+|"
        rf"will\s+|then\s+|can\s+)?{_APPROVE_VERB}\b(?P<obj>.*)$",
        re.I,
    ),
    # terse: "CFO sign-off", "manager approval", "supervisor ok"
    re.compile(
        rf"^(?:{_DET}\s+)?(?P<who>[\w -]{{1,30}}?)(?:'s|s')?\s+(?:{_WHICH}\s+)*{_APPROVAL_NOUN}(?P<obj>)$", re.I
    ),
    # "the hiring manager decides whether to make an offer": a person's yes or no is an approval
    re.compile(
        rf"^(?:{_DET}\s+)?(?P<who>[\w' -]{{1,40}}?)\s+(?:then\s+|must\s+|will\s+)?(?:decides?|determines?|chooses?)\s+"
        r"(?:whether|if)\s+(?:or\s+not\s+)?(?:to\s+)?(?P<obj>.+)$",
        re.I,
    ),
]
_APPROVAL_FROM = re.compile(
    rf"^\s*(?:from|by)\s+(?:{_DET}\s+)?(?P<who>[\w' -]{{1,40}}?)(?P<obj>\s+(?:for|on|before)\b.*)?$", re.I
)


_WHICH_APPROVAL = re.compile(rf"^(?:{_WHICH}\b\s*)+|(?:['’]s)?(?:\s+{_WHICH}\b)+$", re.I)


_NOT_NAMES = {"I", "We", "You", "They", "He", "She", "It", "Then", "If", "When", "Finance", "Legal", "HR", "IT"}


def _proper_name(who: str) -> bool:
    """ "Maria", "Tom Becker", "Dr Chen": one to three capitalised words, not a team or a pronoun."""
    parts = who.strip().split()
    return (
        0 < len(parts) <= 3
        and all(re.fullmatch(r"[A-Z][a-z'’-]+\.?", p) for p in parts)
        and parts[0] not in _NOT_NAMES
        and not any(W.is_base_verb(p.lower()) for p in parts)
    )


def _person_of_team(who: str) -> tuple[str, str]:
    """ "Tom in finance" -> ("Tom", "finance"); "the head of communications" is left whole."""
    m = re.match(r"^(?P<head>.+?)\s+(?:from|in|at|of)\s+(?:the\s+)?(?P<team>[\w -]{1,30})$", who.strip())
    if m and _proper_name(m.group("head")):
        return m.group("head"), m.group("team").strip()
    return who, ""


def approval_of(text: str) -> tuple[str, str] | None:
    """(who, object text) when ``text`` asks a person to approve; ``None`` otherwise."""
    t = re.sub(r"^(?:we|you|then|and|please|also|first|finally)\s+", "", text.strip().rstrip(".!;,"), flags=re.I)
    for i, pat in enumerate(_APPROVAL_PATTERNS):
        m = pat.match(t)
        if not m:
            continue
        who_raw = (m.group("who") or "").strip()
        obj = (m.group("obj") or "").strip()
        who_raw = _WHICH_APPROVAL.sub("", who_raw).strip()  # "a second approval from the CFO": which one, not who
        if i == 2 and not who_raw:
            frm = _APPROVAL_FROM.match(obj)
            if frm:
                who_raw, obj = frm.group("who"), (frm.group("obj") or "").strip()
        who_raw, dept = _person_of_team(who_raw)  # "Tom in finance", "Maria from legal": the person, their team
        named = i in (0, 1, 2) and _proper_name(who_raw)
        words = [w for w in W.tokens(who_raw) if w not in ("the", "a", "an", "s", "to", "of")]
        if set(words) & {"for", "about", "with", "on", "in", "at", "from", "by"}:
            continue  # "ask the customer for a review" is a request, not an approval
        if i == 2 and who_raw and not words:
            continue
        if named:  # "ask Maria from legal to approve the contract": who is named, with the team if given
            return (f"{who_raw.strip()} ({dept})" if dept else who_raw.strip()), obj
        if i in (0, 1, 3, 4, 5) and not (set(words) & (_ROLE_WORDS | W.PEOPLE)):
            continue  # "approve the loan", "run the checks", "quality ok": no person approves
        if i == 1 and "review" in t.lower().split() and not re.search(_APPROVE_VERB, t, re.I):
            if not re.match(r"^(?:ask|have|get|let)\b", t, re.I):
                continue
        if any(W.is_base_verb(w) and w not in _ROLE_WORDS | W.PEOPLE for w in words[-1:]):
            continue
        who = [w for w in words if w not in ("each", "every", "their", "his", "her", "our")][-2:] or ["approver"]
        return " ".join(who), obj
    return None


_JOIN_ALL = re.compile(
    r"^(?:both|all|all\s+of\s+(?:them|these|those|the\s+\w+)|(?:both|all)\s+(?:the\s+)?\w+(?:\s+\w+)?|the\s+two\s+\w+|"
    r"they\s+(?:both|all)|everything|each\s+(?:one|\w+)|every\s+\w+|none\s+of\s+them\s+fails?)\s+"
    r"(?:(?:are|is|come\s+back|were)\s+)?(?:pass|passes|passed|succeed|succeeds|succeeded|ok|okay|fine|clean|green|"
    r"good|clear|done|complete|completed|successful|look\s+good|looks\s+good|go\s+through|went\s+through|"
    r"approve|approves|approved|agree|agrees|accept|accepts|sign\s+off|signs\s+off)\b",
    re.I,
)
_JOIN_ANY = re.compile(
    r"^(?:any|either|one|at\s+least\s+one|any\s+of\s+(?:them|these|those|the\s+\w+)|either\s+of\s+(?:them|these|those|"
    r"the\s+\w+)|one\s+of\s+(?:them|these|those|the\s+\w+)|any\s+\w+|either\s+\w+|something|anything|not\s+all"
    r"(?:\s+of\s+them)?)\s+(?:(?:check|test|step|screen|scan|review)s?\s+)?"
    r"(?:fails?|failed|doesn't\s+pass|does\s+not\s+pass|is\s+not\s+ok|isn't\s+ok|errors?|breaks?|is\s+red|goes\s+wrong|"
    r"pass(?:es)?\s+not|comes?\s+back\s+(?:dirty|bad|red)|is\s+flagged|flags?\s+\w+|do\s+not\s+pass|don't\s+pass|"
    r"rejects?|rejected|declines?|declined|refuses?|refused|objects?|red|failing|broken)\b",
    re.I,
)


def join_condition(text: str) -> str | None:
    """``all_ok`` / ``any_failed`` when ``text`` speaks about every/any branch of a parallel step."""
    found = join_split(text)
    return found[0] if found else None


def join_split(text: str) -> tuple[str, str] | None:
    """(``all_ok`` | ``any_failed``, the words after the condition) — "either check fails the vendor is told"."""
    t = re.sub(r"^(?:if|when|once|should)\s+", "", (text or "").strip(), flags=re.I).strip(" ,:")
    for pat, kind in ((_JOIN_ANY, "any_failed"), (_JOIN_ALL, "all_ok")):
        m = pat.match(t)
        if m:
            rest = re.sub(r"^(?:it|them|this|that)\b", "", t[m.end() :].strip(" ,:"), flags=re.I)
            return kind, rest.strip(" ,:")
    return None


_APPROVED_COND = re.compile(
    r"^(?:(?:it|they|this|that)\s+(?:is|are|was|were|gets?|has\s+been)\s+|(?:she|he|they|it)\s+|"
    r"(?:the\s+|an?\s+)?[\w-]+(?:\s+[\w-]+)?\s+(?:is\s+|are\s+|gets?\s+)?)?"
    r"(?:approved|approves|approve|signs?\s+off|signed\s+off|accepted|accepts|confirmed|confirms|ok'?d|okayed|"
    r"authori[sz]ed|authori[sz]es|says\s+yes|agrees)\b",
    re.I,
)
_REJECTED_COND = re.compile(
    r"^(?:(?:it|they|this|that)\s+(?:is|are|was|were|gets?|has\s+been)\s+|(?:she|he|they|it)\s+|"
    r"(?:the\s+|an?\s+)?[\w-]+(?:\s+[\w-]+)?\s+(?:is\s+|are\s+|gets?\s+)?)?"
    r"(?:rejected|rejects|denied|denies|declined|declines|refused|refuses|not\s+approved|does\s*n[o']t\s+approve|"
    r"says\s+no|turned\s+down|turns\s+\w+\s+down)\b|^(?:not|no)$",
    re.I,
)
APPROVAL_ADJ = r"(?:approved|accepted|signed[- ]off|confirmed|authori[sz]ed|rejected|denied|declined|refused)"


def approval_answer(text: str) -> bool | None:
    """True / False when ``text`` is the answer of an approval ("if approved", "if she signs off", "rejected")."""
    t = re.sub(r"^(?:if|when|once|unless)\s+", "", (text or "").strip(), flags=re.I).strip(" ,:")
    if _REJECTED_COND.match(t):
        return False
    if _APPROVED_COND.match(t):
        return True
    return None


_AI_USE = re.compile(
    r"\b(?:use|uses|using|ask|asks|have|has|let|get|gets)\s+(?:the\s+|an\s+|a\s+|our\s+)?"
    r"(?:ai|llm|gpt|chatgpt|language\s+model|ai\s+model|llm\s+model)\s+(?:to\s+)?",
    re.I,
)
_AI_SUBJECT = re.compile(r"\b(?:the\s+|an\s+|our\s+)?(?:ai|llm|gpt|chatgpt)\s+(?=\w+s\b)", re.I)
_AI_MENTION = re.compile(r"\b(?:ai|llm|gpt|chatgpt|language\s+model)\b", re.I)
_PAR_NUMBER = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|2|3|4|5|6|7|8|several|multiple|both|all|each|every)\b", re.I
)
