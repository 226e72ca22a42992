"""Who a hand-off goes to: the people, teams and departments after "to" ("send them to HR", "pass it to
accounts payable", "escalate it to tier 2"), as opposed to a format or a place ("convert it to PDF")."""

from __future__ import annotations

from engine.ai import _words as W
from engine.ai.offline_translator.name_words import _PREPS

# departments and functions named without "the" ("send it to payroll")
DEPARTMENTS = frozenset(
    """
payroll procurement purchasing accounting accounts payable receivable treasury compliance facilities audit billing
reception helpdesk dispatch underwriting management leadership engineering qa devops infosec it_team
""".split()
)

# heads of a phrase naming who receives ("the support lead", "the review board", "the night shift")
TEAM_WORDS = frozenset(
    """
team teams lead leads department dept desk office board committee panel shift supervisor supervisors coordinator
dispatcher recipient recipients sender assignee assignees technician technicians underwriter underwriters
controller cashier starter starters counsel auditor auditors secretary paralegal
""".split()
)

# support levels: "tier 2", "level 3", "line 1"
_LEVELS = frozenset({"tier", "level", "line"})


def is_recipient(words: list[str]) -> bool:
    """True when ``words`` (the content words after "to") name a person, team or department ("hr",
    "accounts payable", "support lead", "tier 2"), not a thing, a format or a language ("pdf", "spanish")."""
    if not words:
        return False
    if len(words) == 2 and words[0] in _LEVELS and words[1].isdigit():
        return True
    head = words[-1]
    return head in W.PEOPLE or head in W.GROUPS_OF_PEOPLE or head in DEPARTMENTS or head in TEAM_WORDS


# adjectives that say which one, not who: "the new tenant" is the tenant ("billing" in "billing team" is who)
_WHICH_ONE = frozenset(
    "new old current previous former departing incoming outgoing assigned responsible relevant right "
    "appropriate designated original existing same other".split()
)


def recipient_core(words: list[str]) -> list[str]:
    """The recipient's words without adjectives that only say which one ("new", "departing", "assigned")."""
    return [w for w in words if w not in _WHICH_ONE]


# adverbs of direction between a hand-off's object and its recipient ("send the form back to HR")
_HANDOFF_ADVERBS = frozenset("back on along over across up onward onwards".split())


def handoff_adverb_out(obj: list[str], particle: list[str]) -> tuple[list[str], list[str]]:
    """(object words, particle words) without a direction adverb between the object and "to <recipient>"
    ("send the signed contract back to the client", "pass the notes along to the night team", "send them on
    to payroll"): the adverb would end the object and push the recipient out of the name. A short "back" stays
    as the verb's particle (send_back_form_hr); "up to 3 times" or "back to the warehouse" are left alone."""
    for i in range(1, len(obj) - 2):
        if obj[i] not in _HANDOFF_ADVERBS or obj[i + 1] != "to":
            continue
        after = obj[i + 2 :]
        end = next((j for j, w in enumerate(after) if w in _PREPS), len(after))
        recipient = [w for w in after[:end] if not W.is_noise(w)]
        if not is_recipient(recipient):
            return obj, particle
        things = [w for w in obj[:i] if not W.is_noise(w)] or ["it"]
        if obj[i] == "back" and not particle and len(things) + len([w for w in after if not W.is_noise(w)]) <= 2:
            particle = ["back"]
        return obj[:i] + obj[i + 1 :], particle
    return obj, particle
