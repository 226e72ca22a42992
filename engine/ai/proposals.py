"""Schedules, triggers and notifications proposed from a workflow description.

"every weekday at 7am" -> ``{"cron": "0 7 * * 1-5", "timezone": "UTC"}``; "every 15 minutes" ->
``{"every": "15m"}``; "when a CSV arrives in the inbox" -> ``{"type": "file", "folder": "data/inbox",
"glob": "*.csv"}``; "when Shopify sends an order webhook" -> a webhook trigger whose secret is a
``{secret:NAME}`` reference; "tell the on-call when it fails" -> a notification on ``failed``.

The shapes are the workflow file's ``[[schedules]]`` / ``[[triggers]]`` entries (validated by
``engine.automation.specs``) and its ``[notifications]`` table (``{channels = [...], on = ["failed"]}``,
validated by ``engine.automation.notify.NotificationSettings``; a channel is named after who is told,
e.g. ``on-call``, and the administrator defines it in the notifications settings file). The text is
only matched by regular expressions; nothing in it is executed. :func:`extract` also returns the
description with the schedule and workflow-level notification phrases removed, so they do not become
steps. A failing thing that names a step of the workflow ("Import the data. If the import fails, alert the
data team") is not the whole run: that sentence stays in the text and becomes the step's error path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from engine.records import slugify

_DAYS = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 0,
}
_PART_OF_DAY = {"morning": 8, "afternoon": 14, "evening": 18, "night": 22, "midnight": 0, "noon": 12}
_UNIT = {"second": "s", "sec": "s", "minute": "m", "min": "m", "hour": "h", "hr": "h", "day": "d"}
_DAYNAMES = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"

_TIME = r"(?:(?:at|@)\s+)?(?P<h>\d{1,2})(?:[:.](?P<m>\d\d))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)?(?:\s*o'clock)?"
_SCHED = re.compile(
    r"(?<!\bthe )(?<!\ba )(?<!\ban )(?<!\bour )(?:(?<!\bthis )|(?<=\bthis )(?=(?:every|each)\b))"  # "run this every …"
    r"(?<!\bto )(?<!\bin )(?<!\binto )(?<!\bof )"
    r"(?P<all>\b(?:"
    r"(?:every|each)\s+(?P<n>\d+)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\b"
    r"|(?:every|each|once an?|once per)\s+(?P<unit1>minute|hour)\b"
    r"|(?P<hourly>hourly)\b"
    r"|(?:every|each|on)\s+(?P<wd>weekdays?|workdays?|business days?|weekends?)"
    r"|(?:(?:every|each|on)\s+(?P<day>(?:" + _DAYNAMES + r")s?)|(?P<days>(?:" + _DAYNAMES + r")s))"
    r"(?:\s+(?P<pod1>morning|afternoon|evening|night))?"
    r"|(?:on\s+)?the\s+(?P<dom>\d{1,2})(?:st|nd|rd|th)\s+(?:day\s+)?of\s+(?:each|every|the)\s+month"
    r"|(?:every|each)\s+(?P<pod>morning|afternoon|evening|night|midnight|noon)"
    r"|(?P<daily>daily|nightly|every\s+day|each\s+day|every\s+24\s+hours)"
    r"|(?P<weekly>weekly|every\s+week|each\s+week)"
    r"|(?P<monthly>monthly|every\s+month|each\s+month)"
    r"|(?P<quarterly>quarterly|every\s+quarter|each\s+quarter)"
    r"|(?P<monthend>at\s+(?:the\s+)?(?:month[- ]end|end\s+of\s+(?:the|each|every)\s+month)|(?m:^)\s*month[- ]end(?=\s*[:,])"
    r"|(?:every|each)\s+month[- ]end)"
    r")(?:\s*,?\s*(?:at\s+|@\s*)?(?:(?P<pod2>midnight|noon)|" + _TIME + r"))?)(?![\w/])",
    re.I,
)

_FILE_TRIGGER = re.compile(
    r"(?:\b(?:when(?:ever)?|once|as soon as|each time|every time)\s+|^\s*)(?:a|an|the|new|any|some)?\s*(?:new\s+)?"
    r"(?P<kind>csv|tsv|json|parquet|excel|xlsx|pdf|file|spreadsheet|scan|document|report|upload|export)s?"
    r"(?:\s+file)?\s+(?:is\s+|gets\s+)?(?:arrives?|lands?|appears?|dropped|drops|uploaded|shows up|is put|is saved)"
    r"\s+(?:in|into|on|at)\s+(?:the\s+|our\s+)?(?P<folder>[\w./-]+?)(?:\s+(?:folder|directory|dir|bucket|share))?\b",
    re.I,
)
_FILE_GLOB = {"csv": "*.csv", "tsv": "*.tsv", "json": "*.json", "parquet": "*.parquet", "excel": "*.xlsx"}
_FILE_GLOB |= {"xlsx": "*.xlsx", "pdf": "*.pdf", "spreadsheet": "*.xlsx"}
_WEBHOOK = re.compile(
    r"\bwhen(?:ever)?\s+(?P<src>[A-Z][\w.-]*|(?:a|an|the)\s+[\w -]{1,30}?)\s+(?:sends|posts|calls)\b[^.;,]*"
    r"|\b(?:webhook|http (?:post|request|call)|post request)\b",
    re.I,
)
_NOTIFY_VERB = r"(?:tell|notify|alert|page|email|e-mail|ping|message|warn|inform|text)"
_FAIL = r"(?:fails?|failed|breaks?|errors?(?: out)?|crash(?:es)?|goes wrong|does not finish|doesn't finish)"
_RUN_SUBJ = (
    r"(?:it|the (?P<subj>job|run|workflow|pipeline|process|flow|report|import|export|sync|task|whole thing)"
    r"|anything|something|this)"
)
# what follows a failure clause when it is one outcome of a step, not a notice about the whole run
_SUCCESS_PATH = re.compile(
    r"^(?:and\s+|but\s+)?(?:otherwise|else|if\s+not\b|if\s+(?:it|that|this|the\s+\w+)\s+(?:succeeds|works|passes|"
    r"goes\s+through)|on\s+success)",
    re.I,
)
# what may also be a step of the workflow ("Import the data. If the import fails, …": that step's error path)
_STEP_SUBJECTS = {"job", "report", "import", "export", "sync", "task"}
_NOTIFY_SENTENCE = [
    re.compile(
        rf"^(?:and\s+)?{_NOTIFY_VERB}\s+(?P<who>.+?)\s+(?:when|if|whenever|in case)\s+{_RUN_SUBJ}\s+{_FAIL}\s*$", re.I
    ),
    re.compile(
        rf"^(?:when|if|whenever|in case)\s+{_RUN_SUBJ}\s+{_FAIL}\s*[,:]?\s*(?:then\s+)?{_NOTIFY_VERB}\s+(?P<who>.+?)\s*$",
        re.I,
    ),
    re.compile(rf"^on (?:failure|error)s?\s*[,:]?\s*{_NOTIFY_VERB}\s+(?P<who>.+?)\s*$", re.I),
    re.compile(rf"^{_NOTIFY_VERB}\s+(?P<who>.+?)\s+on (?:failure|error)s?\s*$", re.I),
]


@dataclass
class Proposals:
    """What the description implies about when and how the workflow runs (beyond its steps)."""

    schedules: list[dict] = field(default_factory=list)
    triggers: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[dict]]:
        return {"schedules": self.schedules, "triggers": self.triggers, "notifications": self.notifications}

    def __bool__(self) -> bool:
        return bool(self.schedules or self.triggers or self.notifications)


def _hour(m: re.Match, default: int | None) -> tuple[int, int] | None:
    pod2 = m.group("pod2")
    if pod2:
        return _PART_OF_DAY[pod2.lower()], 0
    if m.group("h") is None:
        return (default, 0) if default is not None else None
    h, mi = int(m.group("h")), int(m.group("m") or 0)
    ap = (m.group("ap") or "").lower().replace(".", "")
    if ap == "pm" and h < 12:
        h += 12
    elif ap == "am" and h == 12:
        h = 0
    if h > 23 or mi > 59:
        return None
    return h, mi


def schedule_of(m: re.Match, timezone: str = "UTC") -> dict | None:
    """The ``[[schedules]]`` entry for one :data:`_SCHED` match (``None`` when it is not a schedule)."""
    g = {k: (v.lower() if isinstance(v, str) else v) for k, v in m.groupdict().items()}
    phrase = m.group("all").strip()
    if g["n"] or g["unit1"] or g["hourly"]:
        if g["h"] is not None and not (g["n"] or g["unit1"]):
            return None
        n = int(g["n"] or 1)
        unit = _UNIT[re.sub(r"s$", "", g["unit"] or g["unit1"] or "hour")]
        if n <= 0:
            return None
        return {"every": f"{n}{unit}", "description": f"proposed from '{phrase}'"}
    pod = g["pod"] or g["pod1"]
    default_hour = _PART_OF_DAY.get(pod) if pod else 0
    hm = _hour(m, default_hour)
    if hm is None:
        return None
    h, mi = hm
    if g["wd"]:
        dow = "6,0" if g["wd"].startswith("weekend") else "1-5"
        cron = f"{mi} {h} * * {dow}"
    elif g["day"] or g["days"]:
        cron = f"{mi} {h} * * {_DAYS[(g['day'] or g['days']).rstrip('s')]}"
    elif g["dom"]:
        dom = int(g["dom"])
        if not 1 <= dom <= 31:
            return None
        cron = f"{mi} {h} {dom} * *"
    elif g["weekly"]:
        cron = f"{mi} {h} * * 1"
    elif g["monthly"]:
        cron = f"{mi} {h} 1 * *"
    elif g["monthend"]:
        cron = f"{mi} {h} L * *"
    elif g["quarterly"]:
        cron = f"{mi} {h} 1 */3 *"
    else:  # daily / every morning …
        cron = f"{mi} {h} * * *"
    return {"cron": cron, "timezone": timezone, "description": f"proposed from '{phrase}'"}


def _valid(kind: str, entry: dict) -> bool:
    """Check ``entry`` with the workflow file's own spec (any other kind passes)."""
    from engine.automation import specs
    from engine.automation.notify import NotificationSettings

    models: dict[str, type[BaseModel]] = {
        "schedule": specs.ScheduleSpec,
        "file": specs.FileTriggerSpec,
        "webhook": specs.WebhookTriggerSpec,
        "notifications": NotificationSettings,
    }
    if kind not in models:
        return True
    try:
        models[kind].model_validate(entry)
    except Exception:
        return False
    return True


def _slug(text: str, default: str) -> str:
    """records.slugify (the one slug rule), with ``default`` when ``text`` has no letter or digit."""
    return slugify(text) if re.search(r"[a-z0-9]", text.lower()) else default


def _channel_name(who: str) -> str:
    """A channel name for who is told: "the on-call" -> "on-call", "the ops channel" -> "ops"."""
    w = re.sub(r"\b(?:channel|team channel|slack channel)\b", "", who.lower()).strip()
    w = re.sub(r"^[#@]", "", w)
    return _slug(w, "team")


def _who(text: str) -> str:
    who = re.sub(r"^(?:the|our|a|an)\s+", "", text.strip().strip(".,;:"), flags=re.I)
    return who[:60]


def _is_a_step(subject: str | None, sentence: str, text: str) -> bool:
    """True when the failing thing ("the import") names a step elsewhere in ``text`` ("Import the data"):
    its failure is that step's error path, not a notification about the whole run."""
    if not subject or subject.lower() not in _STEP_SUBJECTS:
        return False
    rest = text.replace(sentence, " ", 1)
    return re.search(rf"\b{subject}(?:s|ed|ing|er)?\b", rest, re.I) is not None


# a step that repeats at a pace of its own right before "every …" (in the same clause): a retry always,
# a poll when "until" follows ("poll the carrier API every 30 minutes" alone is the workflow's schedule)
_RETRY_PACE = re.compile(
    r"\b(?:retry(?:ing)?|re-?try(?:ing)?|try(?:ing)?\s+(?:it\s+|that\s+)?again)\b[^.;:\n]{0,40}$", re.I
)
_POLL_PACE = re.compile(
    r"\b(?:poll(?:s|ing)?|re-?check(?:s|ing)?|check(?:s|ing)?|ping(?:s|ing)?)\b[^.;:\n]{0,40}$", re.I
)
_UNTIL = re.compile(r"^[^.;:\n]{0,40}?\buntil\b", re.I)


def extract(text: str, timezone: str = "UTC") -> tuple[Proposals, str]:
    """(proposals, the text without schedule phrases and workflow-level failure notifications)."""
    props = Proposals()
    out = text or ""
    # schedules: first match of each phrase; removed from the text
    seen: set[str] = set()
    last_end = -100
    for m in list(_SCHED.finditer(out)):
        before, after = out[max(0, m.start() - 60) : m.start()], out[m.end() : m.end() + 80]
        if _RETRY_PACE.search(before) or (_POLL_PACE.search(before) and _UNTIL.match(after)):
            continue  # "retry every 5 minutes", "poll it every minute until …": how a step repeats, not a schedule
        entry = schedule_of(m, timezone)
        if entry is None:
            continue
        if props.schedules and m.start() - last_end <= 4:  # "weekly on Monday at 8am": one schedule
            props.schedules.pop()
        last_end = m.end()
        key = entry.get("cron") or entry.get("every") or ""
        if key in seen or not _valid("schedule", {k: v for k, v in entry.items()}):
            continue
        seen.add(key)
        entry = {"id": f"s{len(props.schedules) + 1}"} | entry
        props.schedules.append(entry)
    if props.schedules:
        out = _SCHED.sub("\x00", out)
        # mid-sentence between two steps ("scrape the prices nightly, compare them …"): the comma stays
        out = re.sub(
            r"\b(?!(?:run|runs|repeat|repeats|execute|this|it|workflow)\b)(\w+)[ \t]+\x00[ \t]*(?=,)",
            r"\1",
            out,
            flags=re.I,
        )
        out = re.sub(
            r"(?:\b(?:(?:this|the workflow|it) )?(?:run|runs|repeat|repeats|execute|do this|do it)\s+"
            r"(?:(?:this|it|the\s+(?:workflow|process|pipeline))\s+)?)?\x00[ \t]*[:,]?",
            " ",
            out,
            flags=re.I,
        )
        out = re.sub(r"(?m)^[ \t]*(?:at\s+)?[,:]?[ \t]*$\n?", "", out)  # a line that held only the schedule
        out = re.sub(r"(?m)^([ \t]*(?:[-*•]|\d+[.)])?[ \t]*)[,:;]+[ \t]*", r"\1", out)
        out = re.sub(r"(?<=[.;\n])\s*[,:]\s*", " ", out)
        out = re.sub(r"[ \t]{2,}", " ", out).strip()
        out = re.sub(r"^\W+", "", out)
    # triggers (the text keeps them: "when a CSV arrives" is also the workflow's first step)
    for m in _FILE_TRIGGER.finditer(text or ""):
        kind = m.group("kind").lower()
        folder = m.group("folder").strip("./").lower()
        folder = folder if "/" in folder else f"data/{folder}"
        entry = {
            "type": "file",
            "id": _slug(f"{folder.rsplit('/', 1)[-1]}-{kind}", "file-drop"),
            "folder": folder,
            "glob": _FILE_GLOB.get(kind, "*"),
            "into": "file",
            "description": f"proposed from '{m.group(0).strip()}'",
        }
        if _valid("file", entry):
            props.triggers.append(entry)
        break
    hook = _WEBHOOK.search(text or "")
    if hook and not props.triggers:
        src = re.sub(r"^(?:a|an|the)\s+", "", (hook.group("src") or "incoming").strip(), flags=re.I)
        hook_id = _slug(src, "incoming") + "-hook"
        secret = re.sub(r"[^A-Z0-9]+", "_", hook_id.upper()).strip("_")
        entry = {
            "type": "webhook",
            "id": hook_id[:64],
            "auth": "hmac",
            "secret": f"{{secret:{secret}}}",
            "description": f"proposed from '{hook.group(0).strip()}'; set the secret {secret} before enabling",
        }
        if _valid("webhook", entry):
            props.triggers.append(entry)
    # notifications: sentences about the whole run failing; removed from the text
    told: list[str] = []
    kept: list[str] = []
    sentences = re.split(r"(?<=[.!?;\n])", out)
    for i, sentence in enumerate(sentences):
        core = sentence.strip().rstrip(".!?;").strip()
        hit = None
        for pat in _NOTIFY_SENTENCE:
            hit = pat.match(core)
            if hit:
                break
        if hit and _is_a_step(hit.groupdict().get("subj"), sentence, out):
            hit = None
        after = next((x.strip() for x in sentences[i + 1 :] if x.strip()), "")
        if hit and _SUCCESS_PATH.match(after):
            hit = None  # "If it fails, email the admin; otherwise compute the prices": a step's two outcomes
        if hit:
            told.append(_who(hit.group("who")))
            props.notes.append(f"'{core}' is a notification when a run fails, not a step")
            continue
        kept.append(sentence)
    out = "".join(kept).strip()
    for m in re.finditer(
        rf"[,;]?\s*(?:and\s+)?{_NOTIFY_VERB}\s+(?P<who>[\w\s#@-]{{1,40}}?)\s+(?:when|if|whenever)\s+{_RUN_SUBJ}\s+{_FAIL}\b",
        out,
        re.I,
    ):
        if _is_a_step(m.group("subj"), m.group(0), out):
            continue
        told.append(_who(m.group("who")))
        out = out.replace(m.group(0), "")
    channels = list(dict.fromkeys(_channel_name(w) for w in told))
    if channels:
        entry = {"channels": channels, "on": ["failed"]}
        if _valid("notifications", entry):
            props.notifications.append(entry)
    for kind, items in (("schedule", props.schedules), ("trigger", props.triggers)):
        for it in items:
            props.notes.append(f"proposed {kind}: {describe(it)}")
    for it in props.notifications:
        props.notes.append(f"proposed notification: {describe(it)}")
    return props, out.strip() or (text or "")


def describe(entry: dict[str, Any]) -> str:
    """One line for a proposal ("cron 0 7 * * 1-5 (UTC)", "file data/inbox/*.csv", …)."""
    if "cron" in entry:
        return f"cron {entry['cron']} ({entry.get('timezone', 'UTC')})"
    if "every" in entry:
        return f"every {entry['every']}"
    if entry.get("type") == "file":
        return f"file {entry['folder']}/{entry['glob']}"
    if entry.get("type") == "webhook":
        return f"webhook '{entry['id']}' (secret {entry['secret']})"
    if "on" in entry:
        return f"tell {', '.join(entry.get('channels') or ['?'])} when a run is {'/'.join(entry['on'])}"
    return str(entry)


KINDS = ("schedules", "triggers", "notifications")


def _content_key(kind: str, entry: dict) -> str:
    """What a schedule/trigger does, without its id and description (an equal proposal is not added twice)."""
    from engine.workflow_file import WorkflowSpec

    try:
        model = getattr(WorkflowSpec(dsl="a -> b", **{kind: [entry]}), kind)[0]
        entry = model.model_dump(mode="json", exclude={"id", "description"})
    except Exception:  # an invalid proposal: the final validation names the field
        entry = {k: v for k, v in entry.items() if k not in ("id", "description")}
    return json.dumps(entry, sort_keys=True, default=str)


def _channel_key(channel: str | dict) -> str:
    """A channel's identity: its name, or an inline table with its defaults filled in."""
    if isinstance(channel, str):
        return channel
    try:
        from engine.automation.notify import ChannelSpec

        channel = ChannelSpec.model_validate(channel).model_dump(mode="json", exclude_none=True)
    except Exception:  # an invalid inline table: the final validation names the field
        pass
    return json.dumps(channel, sort_keys=True, default=str)


def _unique(items: list, key) -> list:
    """``items`` in order without repeats by ``key`` (works for unhashable items such as inline tables)."""
    seen: set = set()
    out = []
    for it in items:
        k = key(it)
        if k not in seen:
            seen.add(k)
            out.append(it)
    return out


def apply_to_spec(spec, proposals: dict[str, list[dict]], accepted: dict[str, list[int]]):
    """``spec`` (a WorkflowSpec) with the accepted proposals added (``accepted``: kind -> indexes).

    Ids are made unique against the spec's own schedules/triggers, and a proposal doing the same as an
    entry already there is not added again; notification channels (names or inline tables) and events
    are merged into an existing ``[notifications]`` table without repeats. The result is validated like
    a workflow file."""
    from engine.workflow_file import WorkflowSpec

    data = spec.model_dump(mode="json", exclude_none=True)
    for kind in ("schedules", "triggers"):
        have = list(data.get(kind) or [])
        ids = {e.get("id") for e in have}
        contents = {_content_key(kind, e) for e in have}
        for i in accepted.get(kind, []):
            if not 0 <= i < len(proposals.get(kind) or []):
                continue
            entry = dict(proposals[kind][i])
            content = _content_key(kind, entry)
            if content in contents:
                continue
            contents.add(content)
            base, n = entry.get("id") or kind[0], 2
            while entry.get("id") in ids or not entry.get("id"):
                entry["id"] = f"{base}-{n}"
                n += 1
            ids.add(entry["id"])
            have.append(entry)
        data[kind] = have
    for i in accepted.get("notifications", []):
        if not 0 <= i < len(proposals.get("notifications") or []):
            continue
        entry = proposals["notifications"][i]
        current = dict(data.get("notifications") or {"channels": [], "on": []})
        channels = [*(current.get("channels") or []), *(entry.get("channels") or [])]
        current["channels"] = _unique(channels, _channel_key)
        current["on"] = _unique([*(current.get("on") or []), *(entry.get("on") or [])], str)
        data["notifications"] = current
    out = WorkflowSpec.model_validate(data)
    out.source_path = spec.source_path
    return out
