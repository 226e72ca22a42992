"""Step lists, "and" splitting and parallel enumerations (fan-out / fan-in)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import _PAR_NUMBER, approval_of
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.model import APPROVAL_AGAIN, Act, Decision, Goto, Par, Stop, Until
from engine.ai.offline_translator.name_words import _content, _valid_name
from engine.ai.offline_translator.segmentation import _PAR_WORDS

# words that read as nouns when they stand alone after "verb object and": "check stock and credit"
_OBJECT_NOUNS = (
    W.QUANTITY
    | W.ATTRIBUTES
    | {"address", "phone", "email", "identity", "employment", "references", "history", "background", "fraud"}
    | {"sanctions", "eligibility", "availability", "pricing", "weather", "traffic", "permissions", "licence"}
    | {"license", "insurance", "documents", "contracts", "invoices", "orders", "payments", "shipping"}
)


# "both the department head and the CFO must sign off": who, the modal, what they do
_BOTH_WHO = re.compile(
    r"^(?:and\s+|then\s+)?both\s+(?P<who>(?:the\s+)?[\w-]+(?:\s+[\w-]+)?\s+and\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+)??)\s+"
    r"(?P<modal>(?:must|should|will|need\s+to|have\s+to)\s+)?(?P<what>.+)$",
    re.I,
)


def _name_apart(acts: list[Act]) -> None:
    """Parallel steps named alike ("pull the campaign stats from Google Ads / from Meta Ads" ->
    pull_campaign_stats, pull_campaign_stats_2) get the words that tell them apart
    (pull_campaign_stats_google_ads, pull_campaign_stats_meta_ads)."""
    base = {a.name: re.sub(r"_\d+$", "", a.name) for a in acts}
    if len(acts) < 2 or len(set(base.values())) != 1:
        return
    words = [[w for w in _content(W.tokens(a.text)) if w not in base[a.name].split("_")] for a in acts]
    own = [[w for w in ws if not any(w in other for other in words if other is not ws)] for ws in words]
    if not all(own):
        return
    for a, ws in zip(acts, own):
        a.name = _valid_name(f"{base[a.name]}_{W.snake(ws[:2])}")


# "… until it has" / "until they are" / "until that happens": the until repeats the question of the step
_ELLIPTIC_UNTIL = re.compile(
    r"^(?:it|they|that|this|so)\s+(?:(?:has|have|is|are|does|do)(?:\s+(?:so|too))?|happens)\s*\.?$", re.I
)
# the question a check asks: "whether the export has finished [every 10 minutes]"
_ASKED = re.compile(r"\s+(?:whether|if)\s+(.+?)(\s+every\s+[^,;]+)?$", re.I)
_ASKED_SUBJECT = re.compile(
    r"^((?:(?:the|a|an|its|their|our|all|every)\s+)?[a-z]+(?:\s+[a-z]+)?)\s+(?:has|have|is|are|was|were|did|does|do)\b",
    re.I,
)


# an explicit "then" (or "after that", "next") between steps: what comes after it waits for what is before
_SEQUENCE_WORD = re.compile(
    r"(?:\s*[,;]\s*(?:and\s+)?|\s+and\s+)(?:then|after\s+that|afterwards|next)\b\s*,?\s*|\s+then\s+,?\s*", re.I
)


def _last_sequence_word(scope: str) -> re.Match | None:
    """The last sequence word inside ``scope`` with a step on each side of it, else None."""
    found = None
    for m in _SEQUENCE_WORD.finditer(scope):
        if scope[: m.start()].strip(" ,;") and scope[m.end() :].strip(" ,;"):
            found = m
    return found


class StructureReader(BuilderBase):
    """Step lists, "and" splitting and parallel enumerations (fan-out / fan-in)."""

    def _split_and(self, text: str, parallel: bool = False) -> list[str]:
        t = re.sub(r"\bbetween\s+(\S+)\s+and\s+", r"between \1 &and& ", text, flags=re.I)
        for phrase in (
            "terms and conditions",
            "profit and loss",
            "research and development",
            "pros and cons",
            "sales and marketing",
            "q and a",
            "rock and roll",
            "black and white",
            "trial and error",
            "search and replace",
            "find and replace",
            "drag and drop",
            "copy and paste",
        ):
            t = re.sub(phrase, phrase.replace(" and ", " &and& "), t, flags=re.I)
        t = re.sub(r"^((?:the |a |an )?\w+(?: \w+)?) then (?=\w+s\b)", r"\1 ", t, flags=re.I)
        # "pull the spend from Google Ads and Meta": two named sources of one step, not a second step
        # (unless they are pulled in parallel: "… from Google Ads and Meta Ads in parallel", a step each)
        t = (
            t
            if parallel or _PAR_WORDS.search(t)
            else re.sub(
                r"\b(from|in|on)\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)\s+and\s+(?=[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?\s*(?:[,.;]|$))",
                r"\1 \2 &and& ",
                t,
            )
        )
        t = re.sub(r"\beither\s+(.+?)\s+or\s+", r"either \1 &or& ", t, flags=re.I)
        parts = re.split(
            r"\s*,\s*(?:and|&)?\s*(?:then\s+)?|\s+(?:and|&|\+|as well as|plus|and then|then|along with)\s+", t
        )
        parts = [p.replace("&or&", "or") for p in parts]
        parts = [p.replace("&and&", "and").strip() for p in parts if p and p.strip()]
        return parts

    def _distribute(self, parts: list[str], parallel: bool = False) -> list[str]:
        """Give verb-less parts the verb of the part before ("search flights and hotels").

        ``parallel``: the parts run at once, so a lone word that is also a noun ("check stock and
        credit in parallel") is another object of the verb before, not a verb acting on that object."""
        out = []
        last_verb = None
        last_had_object = False
        from_verb: str | None = None  # "pull the stats from": for a source named after it ("and Meta Ads")
        subj_verb = None
        # "unit tests and integration tests run" -> run each
        if len(parts) >= 2:
            v, particle, obj, subject = self.namer.analyse(parts[-1])
            if v and subject and not _content(obj) and all(self.namer.analyse(p)[0] is None for p in parts[:-1]):
                subj_verb = " ".join([v] + particle)
                return [f"{subj_verb} {p}" for p in parts[:-1]] + [f"{subj_verb} {' '.join(subject)}"]
        for p in parts:
            v, particle, obj, subject = self.namer.analyse(p)
            word = W.tokens(p)
            if (
                parallel
                and last_verb
                and last_had_object
                and len(word) == 1
                and word[0] in _OBJECT_NOUNS
                and not p.strip().lower().startswith(("and ", "then "))
            ):
                out.append(f"{last_verb} {p}")  # "check stock and credit at the same time"
                continue
            own_clause = (
                v is not None and bool(_content(subject)) and bool(_content(obj))
            )  # "the bank pays the salaries"
            if last_verb and (
                (v is None and not subject) or (self._determined(p) and len(W.tokens(p)) <= 5 and not own_clause)
            ):
                bare_name = v is None and not self._determined(p)  # "… from Google Ads and Meta Ads", "eBay"
                out.append(f"{from_verb if from_verb and bare_name else last_verb} {p}")
                continue
            if v is not None:
                last_verb = " ".join([v] + particle)
                last_had_object = bool(_content(obj))
                # "translate the article into French, German …": keep the verb, object and preposition
                ptoks = p.split()
                prep_at = max(
                    (
                        i
                        for i, w in enumerate(ptoks)
                        if w.lower() in ("to", "into", "on", "in", "for", "with") and i > 0
                    ),
                    default=None,
                )
                if prep_at is not None and len(ptoks) - prep_at <= 3:
                    last_verb = " ".join(ptoks[: prep_at + 1])
                from_at = next((i for i, w in enumerate(ptoks) if w.lower() == "from" and i > 0), None)
                from_verb = (
                    " ".join(ptoks[: from_at + 1]) if from_at is not None and len(ptoks) - from_at <= 3 else None
                )
            out.append(p)
        return out

    def body(self, text: str, allow_par: bool = True, parallel: bool = False) -> list:
        """Steps of a plain clause: actions joined by 'and'/commas, parallel words, until, stop, go back.

        ``parallel``: the clause follows a leading "In parallel," (its steps become branches)."""
        text = text.strip().strip(",.;:").strip()
        if not text:
            return []
        if allow_par:
            enum = self._enumeration(text)
            if enum is not None:
                return enum
            lead = _BOTH_WHO.match(text)
            first_who = re.split(r"\s+and\s+", lead.group("who"))[0] if lead else ""
            if lead and approval_of(f"{first_who} {lead.group('what')}"):
                # "Both the department head and the CFO must sign off (in parallel)": both approve
                what = _PAR_WORDS.sub(" ", lead.group("what")).strip()
                text = f"{lead.group('who')} {lead.group('modal') or ''}both {what}"
            m = re.match(
                r"^(?:the\s+)?([\w-]+(?:\s+[\w-]+)?\s+and\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+)?)\s+"
                r"(?:(?:must|should|will|need\s+to|have\s+to)\s+)?both\s+(.+)$",
                text,
                re.I,
            )
            if m and not _PAR_WORDS.search(text):
                subjects = re.split(r"\s+and\s+", m.group(1))
                signed = (
                    [self.act(f"{subj} {m.group(2)}") for subj in subjects]
                    if approval_of(f"{subjects[0]} {m.group(2)}")
                    else []
                )
                if len(signed) >= 2 and all(a.who for a in signed):
                    if len({a.name.rsplit("_", 1)[0] if a.name[-1].isdigit() else a.name for a in signed}) == 1:
                        base = signed[0].name  # both approve the contract: approve_contract_legal_team, …_finance
                        for a in signed:
                            a.name = _valid_name(f"{base}_{W.snake((a.who or '').split()[-2:])}")
                    return [Par([[a] for a in signed])]  # "the CFO and the CEO must both sign off"
                acts = [st for st in self._plain_steps(f"{m.group(1)} {m.group(2)}") if isinstance(st, (Act, Until))]
                if len(acts) >= 2:  # "the editor and the legal team both review it"
                    return [Par([[a] for a in acts])]
            m = re.match(r"^(?:and\s+|then\s+)?both\s+(.+?\s+and\s+.+)$", text, re.I)
            if m and not _PAR_WORDS.search(text) and self.namer.analyse(m.group(1))[0] is not None:
                acts = [st for st in self._plain_steps(m.group(1)) if isinstance(st, (Act, Until))]
                if len(acts) >= 2:
                    return [Par([[a] for a in acts])]
        m = _PAR_WORDS.search(text) if allow_par else None
        if m:
            before, after = text[: m.start()].strip(" ,"), text[m.end() :].strip(" ,")
            lead = (
                not before
                or re.fullmatch(r"(?:run|do|perform|execute|handle|start|and|then|we|please)(?:\s+\w+)?", before, re.I)
                is not None
                and not self.namer.analyse(before)[2]
            )
            if lead:
                scope, rest = (before + " " + after).strip(), ""
            else:
                scope, rest = before, after
            seq_cut = None if lead else _last_sequence_word(scope)
            if seq_cut is not None:
                # "charge the card, then ship it and send a receipt in parallel": only what follows the
                # last "then" runs in parallel; what comes before it runs first (was all three at once)
                earlier = self.body(scope[: seq_cut.start()], False)
                return earlier + self.body(f"{scope[seq_cut.end() :]} in parallel" + (f", {rest}" if rest else ""))
            pieces = re.split(r"\s*,\s*(?:and\s+)?(?:then\s+)?", scope)
            last = pieces[-1]
            if not lead and len(pieces) > 1 and self._one_verb_many_objects(last):
                # "Upload the video, transcode it to 720p and 1080p in parallel": only the last runs in parallel
                earlier = self.body(", ".join(pieces[:-1]), False)
                return earlier + self.body(f"{last} in parallel" + (f", {rest}" if rest else ""))
            scope = re.sub(
                r"^(?:run|do|perform|execute)\s+(?:these|the following|all of these|them|both|all)\b\s*:?",
                "",
                scope,
                flags=re.I,
            ).strip()
            scope = re.sub(r"^(?:the following|these|both|all of these)\b\s*:?", "", scope, flags=re.I).strip()
            scope = re.sub(r"\b(?:both|all)\b\s*$", "", scope, flags=re.I).strip()
            if not scope:
                return [Par([])] + (self.body(rest, False) if rest else [])
            steps = self._plain_steps(scope, parallel=True)
            acts = [st for st in steps if isinstance(st, (Act, Until))]
            out: list
            if len(acts) >= 2:
                _name_apart([a for a in acts if isinstance(a, Act)])
                out = [Par([[a] for a in acts])]
            elif len(acts) == 1 and lead:
                out = [("meanwhile", acts[0])]
            else:
                out = steps
            return out + (self.body(rest) if rest else [])
        return self._plain_steps(text, parallel)

    def _one_verb_many_objects(self, text: str) -> bool:
        """ "transcode it to 720p and 1080p": one verb, the words after "and" have none of their own."""
        parts = self._split_and(text)
        return (
            len(parts) >= 2
            and self.namer.analyse(parts[0])[0] is not None
            and all(self.namer.analyse(p)[0] is None for p in parts[1:])
        )

    def _enumeration(self, text: str) -> list | None:
        """ "train three models in parallel: a linear model, a random forest and …" -> one branch per item."""
        m = re.match(r"^(?P<head>[^:]{3,120}?)\s*:\s*(?P<items>.+)$", text)
        if not m:
            return None
        head, items_text = m.group("head"), m.group("items")
        par_head = _PAR_WORDS.search(head)
        par_items = _PAR_WORDS.search(items_text)
        if not (par_head or par_items or _PAR_NUMBER.search(head)):
            return None
        head = _PAR_WORDS.sub(" ", head).strip(" ,")
        items_text = _PAR_WORDS.sub(" ", items_text).strip(" ,.")
        items_text = re.sub(r"\(\s*\)", " ", items_text).strip()
        items = [p for p in self._split_and(items_text) if p.strip()]
        if len(items) < 2 or len(items) > 8:
            return None
        first_item = self.namer.analyse(items[0])
        if (
            first_item[0] is not None
            and len(W.tokens(items[0])) >= 2
            and not self._determined(items[0])
            and self._imperative(items[0])
        ):
            if par_head:  # "do these at the same time: a, b and c"
                acts = [st for st in self._plain_steps(items_text) if isinstance(st, (Act, Until))]
                return [Par([[a] for a in acts])] if len(acts) >= 2 else None
            return self.body(m.group("items")) if par_items else None
        verb, particle, obj, subject = self.namer.analyse(head)
        if verb is None:
            return None
        verbless = [self.namer.analyse(it)[0] is None or self._determined(it) or len(W.tokens(it)) == 1 for it in items]
        if not any(verbless):
            acts = [self.act(it) for it in items]  # "do these at the same time: a, b and c"
        elif all(verbless) and all(len(W.tokens(it)) <= 5 for it in items):
            lead = " ".join([verb] + particle)
            head_noun = next(
                (w for w in _content(obj) if w.endswith("s") and not w.endswith("ss") and not w.isdigit()), None
            )
            if head_noun and all(len(W.tokens(it)) == 1 for it in items) and obj and _content(obj)[0] == head_noun:
                noun = W.singular(head_noun)  # "create accounts: email, slack" -> create_email_account
                acts = [self.act(f"{lead} {it} {noun}") for it in items]
            else:
                acts = [self.act(f"{lead} {it}") for it in items]
        elif par_head and all(len(W.tokens(it)) <= 3 and not self._has_determiner(it) for it in items):
            # "run these checks at the same time: lint, type check, unit tests": short bare items read as the
            # head verb's objects even when one looks like a verb and a noun ("type check", "docs build")
            lead = " ".join([verb] + particle)
            acts = [self.act(f"{lead} {it}") for it in items]
        else:
            return None
        if not par_head and not par_items and len(acts) < 2:
            return None
        return [Par([[a] for a in acts])]

    @staticmethod
    def _has_determiner(part: str) -> bool:
        """Any word of ``part`` is a determiner, possessive or pronoun ("email the customer", "call them")."""
        return any(
            w in ("the", "a", "an", "their", "its", "his", "her", "our", "your", "my", "this", "that", "these")
            or w in W.PRONOUNS
            for w in W.tokens(part)
        )

    @staticmethod
    def _determined(part: str) -> bool:
        """A noun phrase starting with a determiner or possessive ("the customer list", "yesterday's sales")."""
        toks = part.strip().split()
        return bool(toks) and (
            toks[0].lower() in ("the", "a", "an", "their", "its", "his", "her", "our", "your", "all", "each", "every")
            or toks[0].lower().endswith(("'s", "s'"))
        )

    def _plain_steps(self, text: str, parallel: bool = False) -> list:
        text = re.sub(
            r"^(.*?)\b(is|are|was|were|gets|get)\s+(\w+(?:ed|en))\s+and\s+(\w+(?:ed|en))\b(.*)$",
            r"\1\2 \3 and \1\2 \4\5",
            text,
            flags=re.I,
        )
        steps: list = []
        parts = self._split_and(text, parallel)
        low = re.sub(r"\s+", " ", text.lower().strip())
        one_ai_call = (
            len(parts) >= 2
            and bool(self.ctx.ai_span)
            and low in self.ctx.ai_span
            and self.namer.analyse(parts[0])[0] is not None
            and all(self.namer.analyse(p)[0] is None or self._determined(p) for p in parts[1:])
        )
        if one_ai_call and not parallel:
            return [self.act(text)]  # "use AI to extract the supplier, amount and due date": one LLM call
        for part in self._distribute(parts, parallel):
            steps.extend(self._special(part))
        if one_ai_call:  # "have the LLM translate it into French, German and Spanish at the same time"
            for st in steps:  # one LLM call per item, each branch an AI step
                if isinstance(st, Act):
                    st.ai = True
        if (
            len(parts) >= 2
            and len(steps) >= 2
            and all(isinstance(st, Act) and st.who is None for st in steps)
            and len({st.name.split("_")[0] for st in steps}) == 1
        ):
            self.ctx.last_group = list(steps)  # one verb over several objects: independent checks
        return steps

    def _special(self, part: str) -> list:
        p = part.strip()
        if not re.search(r"[A-Za-z0-9]", p):
            return []  # punctuation left over from a removed phrase
        low = p.lower().strip()
        low = re.sub(r"^(?:and|then|we|just|simply)\s+", "", low)
        if re.fullmatch(
            r"(?:(?:do|does|we do)\s+)?(?:nothing|no action|not(?:hing)? (?:else|more))(?: (?:else|more|further))?"
            r"|(?:skip|ignore) (?:it|them|this)|no further action|leave (?:it|them) (?:alone|as (?:it|they) (?:is|are))",
            low,
        ):
            return []
        if re.fullmatch(
            r"(?:stop|end|finish|halt|exit|terminate|quit|done|that's it|that is it|we are done|"
            r"we're done)(?: (?:here|there|now|it|everything|the (?:workflow|process|flow|run|pipeline)))?"
            r"|(?:end|stop|finish|close|terminate) the (?:workflow|process|flow|run|pipeline)"
            r"|the (?:workflow|process|flow|run) (?:ends|stops|is done|finishes)",
            low,
        ):
            return [Stop()]
        m = re.fullmatch(
            r"(?:go back|loop back|jump back|return|go|jump|loop|restart|repeat|start again|continue)"
            r"(?: to| from| at| with)? (?:step|stage|phase) (\d+)(?: again)?",
            low,
        )
        if m:
            return [Goto("step:" + m.group(1))]
        if re.fullmatch(
            r"(?:start over|start again|restart from the (?:beginning|start)|go back to the "
            r"(?:beginning|start)|repeat from the (?:beginning|start)|repeat the (?:whole )?process)",
            low,
        ):
            return [Goto("step:1")]
        m = re.fullmatch(
            r"(?:go back|loop back|jump back|return|jump|loop back) to (?:the )?(.+?)(?: step| again)?", low
        )
        if m:
            return [Goto(m.group(1))]
        if self.ctx.approval_seen and re.fullmatch(
            r"(?:and\s+)?(?:(?:ask|request|seek)(?: (?:him|her|them|it|for (?:it|approval|sign-?off)))?(?: again| once more)|"
            r"(?:resubmit|re-submit|send back)(?: (?:it|them|this))?(?: for (?:approval|review|sign-?off))?|"
            r"(?:submit|send) (?:it|them|this) (?:again|back)(?: for (?:approval|review|sign-?off))?)",
            low,
        ):
            return [Goto(APPROVAL_AGAIN)]  # "If she rejects it, revise the report and ask again"
        m = re.fullmatch(r"(?:and\s+)?(\w+)(?: (?:it|them|this))? (?:again|once more)", low)
        if m and W.is_base_verb(m.group(1)) and any(n.startswith(m.group(1) + "_") for n in self.ctx.done_names):
            return [Goto(m.group(1))]
        m = re.match(r"^(?:who |which |they |then |he |she |the \w+ )?(?:either |can )?(.+?) or (.+)$", p, re.I)
        if (
            m
            and re.search(r"\beither\b", p, re.I)
            and (
                self.namer.analyse(m.group(1))[0] is not None
                or W.lemma(W.tokens(m.group(1))[0] if W.tokens(m.group(1)) else "")
            )
        ):
            first, second = m.group(1), m.group(2)
            if self.namer.analyse(second)[0] is None and not W.lemma(W.tokens(second)[0] if W.tokens(second) else ""):
                second = f"{W.tokens(first)[0]} {second}"
            first = " ".join([W.lemma(W.tokens(first)[0]) or W.tokens(first)[0]] + first.split()[1:])
            second = " ".join([W.lemma(W.tokens(second)[0]) or W.tokens(second)[0]] + second.split()[1:])
            cond = self.conds.parse(m.group(1), [])
            a, b = self.act(first), self.act(second)
            if cond.kind == "bool":
                return [Decision([[cond, [a], a.terminal], [None, [b], b.terminal]])]
            return [Decision([[self.conds._nl(f"choose to {first}"), [a], a.terminal], [None, [b], b.terminal]])]
        m = re.match(r"^(.+?)\s+until\s+(.+)$", p, re.I)
        if m:
            cond_text = m.group(2)
            # "check whether the export has finished every 10 minutes until it has": the "until" repeats
            # what the check asks
            asked = _ASKED.search(m.group(1)) if _ELLIPTIC_UNTIL.match(cond_text.strip()) else None
            if asked is not None:
                cond_text = asked.group(1)
                subject = _ASKED_SUBJECT.match(cond_text)  # "the export has finished": check the export
                what = f" {subject.group(1)}" if subject else ""
                p = f"{m.group(1)[: asked.start()]}{what}{asked.group(2) or ''} until {cond_text}"
                m = re.match(r"^(.+?)\s+until\s+(.+)$", p, re.I) or m
            ctoks = W.tokens(cond_text)
            if _find_cmp(cond_text) or any(w in W.PREDICATES for w in ctoks) or any(W.lemma(w) for w in ctoks[1:]):
                a = self.act(m.group(1))
                c = self.conds.parse(cond_text, [])
                if c.kind in ("bool", "num", "cat", "expr"):
                    return [Until(a, c)]
                return [a]
            p = m.group(1)
        return [self.act(p)]
