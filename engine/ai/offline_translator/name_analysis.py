"""Reading a clause for naming: its verb, object, and the words around them (``Namer.analyse``)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.model import Ctx
from engine.ai.offline_translator.name_words import (
    _AUX,
    _DETERMINERS,
    _EVERY,
    _FILLER,
    _VERB_PARTICLES,
    _content,
    _unknown_declarative_verb,
    _unknown_phrasal_first,
    _unknown_verb_first,
)

# particles that, right before "the …", belong to the verb rather than start a place ("walk up the stairs")
_ADVERB_PARTICLES = {"up", "out", "off", "back", "down"}


def _takes_particle(verb: str, rest: list[str]) -> bool:
    """True when ``rest`` (the words after ``verb``) starts with the verb's particle: a known phrasal verb
    ("set up"), or an adverb particle before the object's determiner ("roll out the release", "print out
    the report", "send back the form")."""
    if not rest:
        return False
    if (verb, rest[0]) in W.PHRASAL:
        return True
    return rest[0] in _ADVERB_PARTICLES and len(rest) > 1 and rest[1] in _DETERMINERS


class ClauseAnalysis:
    """The part of :class:`Namer` that reads a clause into verb, object and modifiers."""

    ctx: Ctx
    causer: list[str]
    last_passive: bool

    def _causer_is_person(self) -> None:
        """ "ask the landlord to fix the heating": the landlord is who a later 'he/she' means."""
        if self.causer and self.causer[-1] in W.PEOPLE:
            self.ctx.person = W.singular(self.causer[-1])

    def analyse(self, text: str) -> tuple[str | None, list[str], list[str], list[str]]:
        """(verb, particle words, object words, subject words) of an action phrase."""
        self.last_passive = False
        t = re.sub(r"\([^)]*\)", " ", text)
        t = _EVERY.sub(" ", t)
        t = re.sub(r"[\"`]", " ", t)
        prev = None
        while prev != t:
            prev = t
            t = _FILLER.sub("", t.strip())
        toks = W.tokens(t)
        if not toks:
            return None, [], [], []
        # causative: "have marketing approve it" -> approve it; "ask the front desk to call the patient"
        self.causer = []
        if toks[0] in ("have", "let") and len(toks) > 2:
            for j in range(2, min(len(toks), 5)):
                if W.is_base_verb(toks[j]) and toks[j - 1] not in ("to", "the", "a", "an"):
                    self.causer = [w for w in _content(toks[1:j]) if w not in W.PRONOUNS]
                    self._causer_is_person()
                    toks = toks[j:]
                    break
        elif toks[0] in ("ask", "tell", "get", "instruct", "remind") and len(toks) > 3:
            for j in range(2, min(len(toks), 6)):
                if toks[j - 1] == "to" and W.is_base_verb(toks[j]) and j >= 3:
                    self.causer = [w for w in _content(toks[1 : j - 1]) if w not in W.PRONOUNS]
                    self._causer_is_person()
                    toks = toks[j:]
                    break
        # imperative: verb first
        first = toks[0]
        if W.is_base_verb(first) or (first in ("go", "come") and len(toks) > 1):
            verb = first
            rest = toks[1:]
            particle = []
            if _takes_particle(verb, rest):
                particle, rest = [rest[0]], rest[1:]
            if (
                not particle
                and len(rest) >= 2
                and rest[0] in W.PRONOUNS
                and ((verb, rest[1]) in W.PHRASAL or (rest[0] in ("it", "them") and rest[1] in _VERB_PARTICLES))
                and not (  # "log it in Zendesk", "put it on the shelf": a place, not a particle ("log it in")
                    rest[1] in ("in", "on", "into", "onto", "to", "at") and _content(rest[2:])
                )
            ):  # "hand them out at the gate": the particle belongs to the verb, 'them' is the object
                particle, rest = [rest[1]], [rest[0]] + rest[2:]
            return verb, particle, rest, []
        if _unknown_phrasal_first(toks):  # "pass on the request to legal" -> pass_on_request_legal
            return first, [toks[1]], toks[2:], []
        if _unknown_verb_first(toks):  # "revalue the positions": a word the list does not know, then "the"
            if len(toks) > 2 and toks[1] in ("it", "them") and toks[2] in _VERB_PARTICLES:
                return first, [toks[2]], [toks[1]] + toks[3:], []  # "bounce it back to the requester"
            return first, [], toks[1:], []
        if (
            first.endswith("ing")
            and W.lemma(first)
            and not (len(toks) > 1 and W.singular(toks[1]) in W.PEOPLE)  # "hiring manager", "managing director"
        ):  # gerund: "sending the email"
            return W.lemma(first), [], toks[1:], []
        if (
            first.endswith("s")
            and W.lemma(first)
            and first not in W.QUANTITY
            and len(toks) > 1
            and toks[1]
            in (
                "the",
                "a",
                "an",
                "their",
                "its",
                "his",
                "her",
                "our",
                "them",
                "it",
                "all",
                "any",
                "last",
                "this",
                "next",
                "each",
                "every",
                "new",
                "yesterday's",
                "today's",
            )
        ):
            verb = W.lemma(first)  # "collects the laptop" (subject left out)
            if verb in ("get", "receive"):
                verb = "send"  # "… and gets a welcome email": the workflow sends it
            rest = toks[1:]
            particle = []
            if _takes_particle(verb, rest):
                particle, rest = [rest[0]], rest[1:]
            return verb, particle, rest, []
        declared = _unknown_declarative_verb(toks)
        if declared is not None:  # "IT wipes the laptop": a subject, a verb the list does not know, its object
            i, verb = declared
            return verb, [], toks[i + 1 :], toks[:i]
        # arrival: "an alert fires", "a ticket comes in"
        for i, w in enumerate(toks[1:6], 1):
            if w in W.ARRIVAL_VERBS:
                return "receive", [], [], toks[:i]
        # passive: "the employee is notified", "requests are approved automatically"
        for i, w in enumerate(toks[:-1]):
            if w in _AUX and i > 0:
                nxt = [x for x in toks[i + 1 :] if not W.is_noise(x)]
                if nxt and W.lemma(nxt[0]) and (nxt[0].endswith(("ed", "en")) or nxt[0] in W.IRREGULAR):
                    j = toks.index(nxt[0], i + 1)
                    self.last_passive = True
                    return W.lemma(nxt[0]), [], toks[:i] + toks[j + 1 :], []
                break
        # declarative: "the manager reviews it", "unit tests and integration tests run"
        for i in range(1, min(len(toks), 8)):
            w = toks[i]
            lem = W.lemma(w)
            if lem is None and w not in ("go", "goes", "need", "needs", "require", "requires"):
                continue
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if w.endswith("ing") and nxt is not None and W.singular(nxt) in W.PEOPLE:
                continue  # "the hiring manager decides": a kind of manager, not a verb
            if (
                w.endswith("s")
                and not w.endswith("ss")
                and (nxt in (None, "and", "or") or (nxt and W.is_base_verb(nxt)))
            ):
                if not (nxt is None and toks[i - 1] in W.PEOPLE | {"team", "system", "it", "he", "she"}):
                    continue
            if w in W.STOP:
                continue
            if (
                _find_cmp(" ".join(toks[i + 1 : i + 5]))
                and _find_cmp(" ".join(toks[i + 1 : i + 5]))[2] == 0
                and any(W.lemma(x) for x in toks[i + 2 :])
            ):
                continue  # "purchase requests over $5000 need …": 'requests' is the subject
            if (
                i + 1 < len(toks)
                and toks[i + 1] in ("go", "goes")
                and toks[i - 1] in ("the", "a", "an", "each", "every", "this", "that", "these", "those", "all")
            ):
                continue  # "the email goes to the inbox": 'email' is the subject, 'goes' the verb
            lem = lem or {"goes": "go", "needs": "need", "requires": "require"}.get(w, w)
            if lem in ("be", "have", "do"):
                break
            if lem in ("need", "require", "want"):
                lem = "get"
            elif (
                lem in ("get", "receive")
                and (set(toks[:i]) & W.PEOPLE or toks[i - 1] in W.PEOPLE)
                and i + 1 < len(toks)
            ):
                lem = "send"  # "the vendor gets a welcome email": the workflow sends it
            if lem == "go":
                lem = "route"
            subject = toks[:i]
            rest = toks[i + 1 :]
            particle = []
            if _takes_particle(lem, rest):
                particle, rest = [rest[0]], rest[1:]
            elif len(rest) >= 2 and rest[0] in ("it", "them") and rest[1] in _VERB_PARTICLES and not _content(rest[2:]):
                particle, rest = [rest[1]], [rest[0]]  # "finance pays it out": the particle is the verb's
            return lem, particle, rest, subject
        # noun phrase: "inventory check", "unit tests", "manager approval"
        content = _content(toks)
        if content and content[-1] in W.NOMINALS:
            noun = content[-1]
            verb = W.NOMINALS[noun]
            obj = content[:-1] + ([noun] if noun in W.KEEP_NOUN else [])
            if verb == "back":
                return "back", ["up"], content[:-1], []
            return verb, [], obj, []
        if content and content[0] in W.NOMINALS and len(content) > 1 and content[1] in ("of", "for"):
            return W.NOMINALS[content[0]], [], content[2:], []
        return None, [], toks, []
