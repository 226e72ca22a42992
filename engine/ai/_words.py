"""Word lists and tiny morphology helpers for the offline translator and explainer (English only)."""

from __future__ import annotations

import re

VERBS = set(
    """
accept accrue acknowledge activate add adjust aggregate alert allocate analyze analyse annotate answer append
apply approve archive ask assess assign attach audit authenticate authorize average backup ban bill block book
build calculate call cancel capture categorize charge check choose classify clean cleanse clear close collect
combine commit compare compile complete compress compute configure confirm connect contact convert copy correct
create credit debit decide decline decrypt deduplicate delete deliver deny deploy detect determine disable
dispatch display distribute document download draft drop email enable encrypt enqueue enrich enroll enrol ensure
enter escalate estimate evaluate examine execute expedite export extract fetch file fill filter finalize finalise
find fix flag follow forward fund gather generate get give grant group handle hide hold identify import index
inform ingest initialize initiate inspect install interview invite investigate invoice issue join keep label
launch lint list load locate lock log look mail make map mark match measure merge message migrate monitor move
normalize notify obtain offer onboard open order pack package page parse pay perform pick ping place plan poll
post predict prepare print prioritize process produce provide provision publish pull purchase push put qualify
quarantine query queue raise rank rate read receive reconcile record redact refresh refund register reimburse
reject release reload remind remove render renew reply report request rerun reserve reset resize resolve respond
restart restore resume retrieve retry return review revoke rollback roll route run sanitize save scan schedule
score screen search segment select send set settle share ship shut sign simulate sort split stage start stop
store submit summarize summarise suspend sync tag take terminate test track train transcode transfer transform
translate triage trigger turn unlock update upgrade upload use validate verify void wait warn watch write zip
tell buy sell draw prepare hire upsell greet welcome onboard deactivate provision reboot backfill dedupe
classify categorise recommend suggest highlight moderate approve vet contact review chase remind refuse
wire cash reissue reorder restock replenish price quote bill dispatch collect escalate hand pause
declare resign reproduce deviate sample localize localise need require go come mention attach reply greet
scale pivot crop watermark lodge downgrade insert upsert synchronize synchronise
reconcile dedupe deduplicate archive recheck revalidate remediate patch rotate revoke renew reissue interview
shortlist onboard offboard induct train certify audit inspect weigh label tag print scan photograph measure
transcribe moderate curate edit proofread approve sign notarize stamp decide vote tally rank nominate award
close open reopen pause resume grade mark cancel refund charge bill invoice remind nudge ping notify escalate
fit refit retrain promote demote scrape crawl benchmark tune backtest forecast embed chunk vectorize ocr
finish back revise rework amend rewrite redo retest reprocess resubmit normalise geocode anonymize anonymise
tokenize purge prune expire throttle decommission replicate rebase reassign deprioritize snooze unpublish
reschedule relocate countersign shred destroy retain infer swap
upsert dedup backfill shard hash unzip gzip impute upsample downsample resample truncate vacuum debounce flatten
unpivot depreciate amortise amortize accrue prorate remit disburse furlough debrief upskill geotag geolocate revalue
comment revert retweet upvote
""".split()
)

IRREGULAR = {
    "sent": "send",
    "built": "build",
    "paid": "pay",
    "made": "make",
    "got": "get",
    "gotten": "get",
    "taken": "take",
    "took": "take",
    "given": "give",
    "gave": "give",
    "written": "write",
    "wrote": "write",
    "ran": "run",
    "found": "find",
    "held": "hold",
    "kept": "keep",
    "chosen": "choose",
    "chose": "choose",
    "bought": "buy",
    "sold": "sell",
    "told": "tell",
    "done": "do",
    "did": "do",
    "went": "go",
    "gone": "go",
    "goes": "go",
    "does": "do",
    "has": "have",
    "had": "have",
    "drew": "draw",
    "drawn": "draw",
    "is": "be",
    "are": "be",
    "was": "be",
    "were": "be",
    "been": "be",
    "comes": "come",
    "came": "come",
    "put": "put",
    "set": "set",
    "shut": "shut",
    "read": "read",
    "run": "run",
    "rerun": "rerun",
    "reset": "reset",
    "hid": "hide",
    "hidden": "hide",
    "fed": "feed",
    "led": "lead",
    "left": "leave",
    "met": "meet",
    "spent": "spend",
    "split": "split",
    "began": "begin",
    "begun": "begin",
    "wound": "wind",
}

PARTICLES = {"up", "down", "out", "in", "off", "back", "over", "on"}
PHRASAL = {
    ("set", "up"),
    ("look", "up"),
    ("follow", "up"),
    ("sign", "up"),
    ("shut", "down"),
    ("turn", "on"),
    ("turn", "off"),
    ("back", "up"),
    ("log", "in"),
    ("check", "in"),
    ("roll", "back"),
    ("clean", "up"),
    ("pick", "up"),
    ("fill", "out"),
    ("send", "out"),
    ("hand", "off"),
    ("scale", "up"),
    ("spin", "up"),
    ("tear", "down"),
    ("pay", "out"),
    ("sign", "off"),
    ("write", "off"),
    ("check", "out"),
    ("log", "out"),
    ("carry", "out"),
    ("call", "back"),
    ("write", "up"),
    ("hand", "over"),
    ("wind", "down"),
    ("take", "down"),
    ("print", "out"),
    ("log", "off"),
    ("close", "out"),
    ("cash", "out"),
}

# nouns that name an action: "inventory check" -> check_inventory
NOMINALS = {
    "validation": "validate",
    "verification": "verify",
    "processing": "process",
    "check": "check",
    "checks": "check",
    "notification": "notify",
    "creation": "create",
    "generation": "generate",
    "calculation": "calculate",
    "extraction": "extract",
    "classification": "classify",
    "analysis": "analyze",
    "deployment": "deploy",
    "registration": "register",
    "assignment": "assign",
    "submission": "submit",
    "confirmation": "confirm",
    "inspection": "inspect",
    "investigation": "investigate",
    "evaluation": "evaluate",
    "assessment": "assess",
    "payment": "pay",
    "shipment": "ship",
    "shipping": "ship",
    "delivery": "deliver",
    "cleanup": "clean",
    "migration": "migrate",
    "reconciliation": "reconcile",
    "enrichment": "enrich",
    "transformation": "transform",
    "ingestion": "ingest",
    "aggregation": "aggregate",
    "screening": "screen",
    "triage": "triage",
    "review": "review",
    "reviews": "review",
    "approval": "get",
    "sign_off": "get",
    "signoff": "get",
    "consent": "get",
    "feedback": "collect",
    "upload": "upload",
    "download": "download",
    "backup": "back",
    "booking": "book",
    "scoring": "score",
    "matching": "match",
    "routing": "route",
    "reminder": "send",
    "refund": "issue",
    "onboarding": "onboard",
    "provisioning": "provision",
    "tests": "run",
    "test": "run",
    "testing": "run",
    "scan": "run",
    "scans": "run",
    "linting": "run",
    "job": "run",
    "pipeline": "run",
    "audit": "audit",
    "escalation": "escalate",
    "authorization": "authorize",
    "authentication": "authenticate",
    "translation": "translate",
    "summarization": "summarize",
    "summary": "write",
    "report": "generate",
}
# nominals whose noun stays in the name ("unit tests" -> run_unit_tests, "manager approval" -> get_manager_approval)
KEEP_NOUN = {
    "tests",
    "test",
    "testing",
    "scan",
    "scans",
    "linting",
    "job",
    "pipeline",
    "approval",
    "sign_off",
    "signoff",
    "consent",
    "feedback",
    "reminder",
    "refund",
    "summary",
    "report",
    "backup",
}

STOP = set(
    """
a an the to for of with from in on at by via into onto and or their its his her our your my this that these those
all any each every some it them they him she he we you i me us is are be been being was were will would should
can could may might must shall do does did just also then there here as so very really straight directly please
again once still both either neither one ones such own same other another whether if when while than too only at_the_end anything everything something others rest
remaining ones
even quickly immediately automatically manually simply finally first next now already soon later new
""".split()
) - {"new"}
KEEP_LY = {
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "quarterly",
    "hourly",
    "early",
    "only",
    "family",
    "supply",
    "apply",
    "reply",
    "assembly",
    "rally",
    "italy",
    "anomaly",
    "july",
    "fly",
    "ally",
    "monopoly",
    "butterfly",
    "homily",
}

PRONOUNS = {
    "it",
    "them",
    "they",
    "this",
    "that",
    "these",
    "those",
    "its",
    "their",
    "everything",
    "both",
    "all",
    "each",
    "one",
    "ones",
    "everyone",
    "he",
    "she",
    "him",
    "her",
    "anything",
    "something",
    "others",
    "rest",
    "remaining",
}

PEOPLE = set(
    """
customer customers user users employee employees manager managers moderator moderators engineer engineers team
teams developer developers applicant applicants candidate candidates buyer buyers supplier suppliers vendor
vendors doctor doctors patient patients traveller travellers traveler travelers admin admins administrator director
directors reviewer reviewers owner owners staff hr finance sales support agent agents client clients member
members person people requester approver approvers stakeholder stakeholders on_call lead_engineer adjuster
adjusters carrier carriers recruiter recruiters student students author authors hire hires contractor
contractors it_team reporter reporters tenant tenants landlord driver drivers courier couriers nurse nurses officer officers analyst
analysts accountant accountants lawyer legal marketing operations ops security executive executives cfo ceo
""".split()
)

# more plural nouns for people, used only to tell what 'them' means after a person-object verb ("thank them")
GROUPS_OF_PEOPLE = set(
    """
attendees participants guests subscribers volunteers speakers invitees respondents trainees interns donors sponsors
shoppers visitors residents parents learners freelancers interviewers interviewees panelists panellists borrowers
sellers merchants winners partners signatories employees
""".split()
)

TERMINAL_VERBS = {
    "reject",
    "deny",
    "decline",
    "cancel",
    "abort",
    "terminate",
    "halt",
    "quarantine",
    "block",
    "void",
    "discard",
    "refuse",
    "dismiss",
    "close",
    "ban",
    "stop",
    "end",
    "exit",
    "drop",
}
TERMINAL_NOUNS = {"rejection", "refusal", "cancellation", "denial", "decline"}

ATTRIBUTES = set(
    """
severity priority urgency status type category level risk tier region country language plan channel source stage
grade sentiment outcome result decision answer mode size kind class segment method currency department role
color colour format phase tone intent topic reason
""".split()
)

QUANTITY = set(
    """
amount total score count value price cost number age size days hours minutes rating balance limit quantity
percent percentage rate temperature level estimate fee budget salary revenue spend income duration weight
length height width distance time delay latency speed volume stock inventory credit points votes average
sum mean ratio margin discount tax load usage utilization utilisation cpu memory traffic capacity occupancy
pressure humidity size progress headcount attendance severity_score risk_score
""".split()
)

LEVEL_WORDS = {
    "high",
    "low",
    "medium",
    "critical",
    "urgent",
    "normal",
    "routine",
    "minor",
    "major",
    "severe",
    "moderate",
    "trivial",
    "blocker",
    "p1",
    "p2",
    "p3",
    "p4",
}

CATEGORY_ADJ = {
    "urgent": "urgency",
    "non_urgent": "urgency",
    "normal": "urgency",
    "routine": "urgency",
    "critical": "priority",
    "high_priority": "priority",
    "low_priority": "priority",
    "minor": "priority",
    "major": "priority",
    "severe": "severity",
    "large": "size",
    "small": "size",
    "big": "size",
    "huge": "size",
    "tiny": "size",
    "vip": "tier",
    "premium": "tier",
    "standard": "tier",
    "basic": "tier",
    "enterprise": "tier",
    "new": "type",
    "existing": "type",
    "returning": "type",
    "international": "type",
    "domestic": "type",
    "internal": "type",
    "external": "type",
    "simple": "complexity",
    "complex": "complexity",
    "high_risk": "risk",
    "low_risk": "risk",
    "medium_risk": "risk",
    "high_value": "value",
    "low_value": "value",
    "expensive": "cost",
    "cheap": "cost",
    "paid": "type",
    "free": "type",
    "trial": "type",
}

# predicate word -> (canonical name, truth value)
PREDICATES = {
    "valid": ("valid", True),
    "invalid": ("valid", False),
    "succeed": ("success", True),
    "succeeds": ("success", True),
    "succeeded": ("success", True),
    "successful": ("success", True),
    "success": ("success", True),
    "successfully": ("success", True),
    "works": ("success", True),
    "ok": ("success", True),
    "okay": ("success", True),
    "fail": ("success", False),
    "fails": ("success", False),
    "failed": ("success", False),
    "failure": ("success", False),
    "unsuccessful": ("success", False),
    "errors": ("success", False),
    "pass": ("passed", True),
    "passes": ("passed", True),
    "passed": ("passed", True),
    "approve": ("approved", True),
    "approves": ("approved", True),
    "approved": ("approved", True),
    "reject": ("approved", False),
    "rejects": ("approved", False),
    "rejected": ("approved", False),
    "deny": ("approved", False),
    "denies": ("approved", False),
    "denied": ("approved", False),
    "disapproves": ("approved", False),
    "unapproved": ("approved", False),
    "accept": ("accepted", True),
    "accepts": ("accepted", True),
    "accepted": ("accepted", True),
    "agree": ("accepted", True),
    "agrees": ("accepted", True),
    "decline": ("accepted", False),
    "declines": ("accepted", False),
    "declined": ("accepted", False),
    "refuse": ("accepted", False),
    "refuses": ("accepted", False),
    "refused": ("accepted", False),
    "available": ("available", True),
    "unavailable": ("available", False),
    "complete": ("complete", True),
    "completes": ("complete", True),
    "completed": ("complete", True),
    "finished": ("complete", True),
    "finishes": ("complete", True),
    "done": ("complete", True),
    "incomplete": ("complete", False),
    "unfinished": ("complete", False),
    "eligible": ("eligible", True),
    "ineligible": ("eligible", False),
    "active": ("active", True),
    "inactive": ("active", False),
    "expired": ("active", False),
    "found": ("found", True),
    "missing": ("found", False),
    "exists": ("found", True),
    "exist": ("found", True),
    "present": ("present", True),
    "absent": ("present", False),
    "paid": ("paid", True),
    "unpaid": ("paid", False),
    "overdue": ("overdue", True),
    "verified": ("verified", True),
    "unverified": ("verified", False),
    "authorized": ("authorized", True),
    "unauthorized": ("authorized", False),
    "confirmed": ("confirmed", True),
    "confirms": ("confirmed", True),
    "confirm": ("confirmed", True),
    "unconfirmed": ("confirmed", False),
    "correct": ("correct", True),
    "incorrect": ("correct", False),
    "wrong": ("correct", False),
    "match": ("match", True),
    "matches": ("match", True),
    "matched": ("match", True),
    "mismatch": ("match", False),
    "mismatched": ("match", False),
    "resolved": ("resolved", True),
    "unresolved": ("resolved", False),
    "healthy": ("healthy", True),
    "unhealthy": ("healthy", False),
    "down": ("healthy", False),
    "clean": ("clean", True),
    "infected": ("clean", False),
    "malicious": ("clean", False),
    "safe": ("safe", True),
    "unsafe": ("safe", False),
    "harmful": ("safe", False),
    "compliant": ("compliant", True),
    "noncompliant": ("compliant", False),
    "non_compliant": ("compliant", False),
    "duplicate": ("duplicate", True),
    "unique": ("duplicate", False),
    "signed": ("signed", True),
    "unsigned": ("signed", False),
    "complete_": ("complete", True),
    "ready": ("ready", True),
    "fraudulent": ("fraudulent", True),
    "suspicious": ("suspicious", True),
    "spam": ("spam", True),
    "empty": ("empty", True),
    "urgent": ("urgent", True),
    "late": ("late", True),
    "delayed": ("late", True),
    "on_time": ("late", False),
    "in_stock": ("in_stock", True),
    "out_of_stock": ("in_stock", False),
    "returns": ("returned", True),
    "return": ("returned", True),
    "returned": ("returned", True),
    "responds": ("responded", True),
    "respond": ("responded", True),
    "replies": ("responded", True),
    "reply": ("responded", True),
    "responded": ("responded", True),
    "arrives": ("arrived", True),
    "arrived": ("arrived", True),
}
INSTRUMENTS = {
    "classifier",
    "model",
    "tool",
    "script",
    "system",
    "service",
    "api",
    "scanner",
    "bot",
    "engine",
    "checker",
    "validator",
    "detector",
    "parser",
    "filter",
    "llm",
    "ai",
    "algorithm",
    "workflow",
    "process",
    "pipeline",
    "endpoint",
    "webhook",
    "function",
    "program",
    "app",
    "application_form",
}
SUBJECTIVE = {"looks", "seems", "sounds", "appears", "feels", "look", "seem", "sound", "appear", "feel"}

ARRIVAL_VERBS = {
    "comes",
    "come",
    "arrives",
    "arrive",
    "fires",
    "fire",
    "lands",
    "land",
    "appears",
    "appear",
    "triggers",
    "occurs",
    "happens",
    "starts",
    "begins",
}
PASSIVE_TRIGGER = {
    "created",
    "submitted",
    "placed",
    "received",
    "uploaded",
    "opened",
    "filed",
    "raised",
    "pushed",
    "registered",
    "added",
    "published",
    "sent",
    "made",
    "detected",
    "reported",
    "logged",
    "requested",
    "signed",
    "booked",
    "posted",
    "merged",
    "released",
    "deployed",
}

# verbs that describe the subject's own state in a condition, rarely an imperative step
COND_VERBS = {
    "pass",
    "fail",
    "succeed",
    "match",
    "exist",
    "arrive",
    "agree",
    "complete",
    "finish",
    "work",
    "expire",
    "change",
    "differ",
    "remain",
    "exceed",
    "equal",
    "contain",
    "include",
    "look",
    "seem",
    "sound",
    "appear",
    "feel",
    "need",
    "want",
    "have",
    "be",
    "score",
}
AI_WORDS = {"ai", "llm", "gpt", "model", "chatgpt", "ml", "machine_learning", "an_llm"}


def lemma(word: str) -> str | None:
    """The base form of a verb (``classifies`` -> ``classify``), or None when it is not a known verb."""
    w = word.lower()
    if w in VERBS:
        return w
    if w in IRREGULAR:
        return IRREGULAR[w]
    cands = []
    if w.endswith("ies") or w.endswith("ied"):
        cands.append(w[:-3] + "y")
    if w.endswith("es"):
        cands += [w[:-2], w[:-1]]
    if w.endswith("s"):
        cands.append(w[:-1])
    if w.endswith("ed"):
        cands += [w[:-2], w[:-1], w[:-3] if len(w) > 4 and w[-3] == w[-4] else ""]
    if w.endswith("ing"):
        cands += [w[:-3], w[:-3] + "e", w[:-4] if len(w) > 5 and w[-4] == w[-5] else ""]
    for c in cands:
        if c and c in VERBS:
            return c
        if c and c in IRREGULAR:
            return IRREGULAR[c]
    return None


_VERB_PREFIXES = {"auto", "re", "pre", "double", "cross", "co", "self", "e", "bulk", "batch", "soft", "hard"}


# prefixes that make a verb of a verb ("revalue", "reindex", "deprovision", "unfreeze", "preload")
_FUSED_PREFIXES = ("re", "de", "un", "pre")
# verb-forming suffixes ("pseudonymise", "denormalize", "itemize", "stratify"); the nouns among them
_VERB_SUFFIXES = ("ize", "ise", "yze", "yse", "ify")
_NOT_VERBS = frozenset(
    "otherwise enterprise expertise merchandise franchise premise paradise concise precise likewise clockwise "
    "stepwise pairwise treatise demise reprise shopify spotify".split()
)


def is_base_verb(word: str) -> bool:
    """A verb in its base form; also "auto_approve", "re_run", "double_check", a known verb with a fused
    prefix ("revalue", "reindex") and the verb suffixes -ize/-ise/-ify ("pseudonymise", "stratify")."""
    w = word.lower()
    if w in VERBS:
        return True
    if "_" in w:
        head, _, last = w.rpartition("_")
        return last in VERBS and head in _VERB_PREFIXES
    if not w.isalpha() or w in _NOT_VERBS:
        return False
    if any(w.startswith(p) and len(w) - len(p) >= 4 and w[len(p) :] in VERBS for p in _FUSED_PREFIXES):
        return True
    return len(w) >= 7 and w.endswith(_VERB_SUFFIXES)


# plurals the suffix rules below get wrong ("statuses" is not "statuse", "analyses" not "analyse"), and
# words that end in -s in the singular too ("news" is not "new", "series" not "sery")
IRREGULAR_PLURALS = {
    "statuses": "status", "bonuses": "bonus", "viruses": "virus", "campuses": "campus", "buses": "bus",
    "censuses": "census", "surpluses": "surplus", "syllabuses": "syllabus", "prospectuses": "prospectus",
    "consensuses": "consensus", "analyses": "analysis", "diagnoses": "diagnosis", "crises": "crisis",
    "hypotheses": "hypothesis", "theses": "thesis", "synopses": "synopsis",
    "children": "child", "people": "person", "men": "man", "women": "woman", "feet": "foot", "teeth": "tooth",
    "mice": "mouse", "indices": "index", "matrices": "matrix", "vertices": "vertex", "appendices": "appendix",
    "criteria": "criterion", "phenomena": "phenomenon", "knives": "knife", "wives": "wife", "shelves": "shelf",
    "halves": "half", "wolves": "wolf", "thieves": "thief",
}  # fmt: skip
SAME_IN_THE_SINGULAR = frozenset("news series species means headquarters diabetes physics economics".split())


def singular(word: str) -> str:
    """ "orders" -> "order", "policies" -> "policy", "statuses" -> "status"; a quantity word ("days",
    "hours"), a word that is the same in the singular ("news", "series") or a non-plural as given."""
    w = word
    if w in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[w]
    if w in SAME_IN_THE_SINGULAR:
        return w
    if len(w) <= 3 or w in QUANTITY or w.endswith("ss") or w.endswith("us") or w.endswith("is"):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses")):
        return w[:-2]
    if w.endswith("s"):
        return w[:-1]
    return w


def is_noise(word: str) -> bool:
    """Stopwords and -ly adverbs: dropped from names."""
    w = word.lower()
    if w in STOP:
        return True
    if "_" in w:  # "auto_reply": a compound word is never an adverb (was dropped for ending in -ly)
        return False
    return w.endswith("ly") and w not in KEEP_LY and len(w) > 4 and not w.endswith("ply")


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    """Lower-case words; hyphenated words joined with '_' ("on-call" -> on_call); possessive 's dropped."""
    t = text.lower().replace("e-mail", "email")
    t = re.sub(r"(?<=[a-z0-9])-(?=[a-z0-9])", "_", t)
    t = t.replace("’", "'")
    out = []
    for m in _TOKEN.finditer(t):
        w = m.group(0)
        if w.endswith("'s"):
            w = w[:-2]
        elif w.endswith("n't"):
            out.append(w[:-3] if w[:-3] not in ("ca", "wo") else {"ca": "can", "wo": "will"}[w[:-3]])
            out.append("not")
            continue
        elif "'" in w:
            w = w.split("'")[0]
        if w:
            out.append(w)
    return out


def snake(words: list[str]) -> str:
    name = "_".join(w for w in words if w)
    name = re.sub(r"[^a-z0-9_]", "", name.lower())
    name = re.sub(r"_+", "_", name).strip("_")
    return name
