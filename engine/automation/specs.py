"""The shapes of ``[[schedules]]`` and ``[[triggers]]`` in a workflow file, and the time arithmetic of a schedule.

Cron arithmetic is croniter's (5 fields, or 6 with the seconds first), evaluated in the schedule's
IANA time zone (zoneinfo), so daylight-saving changes follow croniter's rules. An interval
(``every = "15m"``) fires at the multiples of its length since the Unix epoch (UTC).
See docs/automation.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.records import utc_now

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_EVERY_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.I)
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIN_EVERY_S = 1.0
SECRET_REF = re.compile(r"^\{secret:([A-Za-z_][A-Za-z0-9_]*)\}$")


def parse_every(text: str | int | float) -> float:
    """Seconds of an interval such as ``"15m"``, ``"1h30m"``, ``"2s"`` (a bare number is seconds)."""
    if isinstance(text, bool):
        raise ValueError("every: give a duration such as '15m'")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        s = str(text).strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", s):
            seconds = float(s)
        else:
            parts = _EVERY_PART.findall(s)
            if not parts or "".join(n + u for n, u in parts) != s:
                raise ValueError(f"every: {text!r} is not a duration; use e.g. '30s', '15m', '1h30m', '1d'")
            seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds < MIN_EVERY_S:
        raise ValueError(f"every: at least {MIN_EVERY_S:g} s (got {seconds:g} s)")
    return seconds


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (ValueError naming it when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris' or 'UTC'") from None


def check_cron(expr: str) -> str:
    """``expr`` normalised (single spaces) when croniter accepts it with 5 or 6 fields."""
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"cron: {expr!r} has {len(fields)} fields; use 5 (min hour day month weekday) or 6 (sec first)"
        )
    norm = " ".join(fields)
    if not croniter.is_valid(norm, second_at_beginning=len(fields) == 6):
        raise ValueError(f"cron: {expr!r} is not a valid cron expression")
    return norm


class ScheduleSpec(BaseModel):
    """One ``[[schedules]]`` entry: cron (+ timezone) or every, the context of its runs, on/off, catch-up."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, pattern=ID_PATTERN)
    cron: str | None = None
    every: str | None = None
    timezone: str = "UTC"
    context: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    catchup: Literal["skip", "run_once"] = "skip"
    overlap: Literal["allow", "skip"] = "allow"  # skip: no new run while this schedule's last run is live
    priority: int = Field(0, ge=-1000, le=1000)
    description: str = ""

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, v):
        if v is None:
            return v
        parse_every(v)
        return str(v).strip() if not isinstance(v, int | float) else f"{v}s"

    @field_validator("cron")
    @classmethod
    def _cron(cls, v):
        return None if v is None else check_cron(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        zone(v)
        return v

    @model_validator(mode="after")
    def _one_of(self):
        if (self.cron is None) == (self.every is None):
            raise ValueError("a schedule needs exactly one of 'cron' or 'every'")
        return self

    @property
    def every_s(self) -> float | None:
        return parse_every(self.every) if self.every is not None else None


class WebhookTriggerSpec(BaseModel):
    """A ``[[triggers]]`` entry of type webhook: ``POST /api/v1/hooks/<workflow_id>/<id>``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook"]
    id: str = Field(pattern=ID_PATTERN)
    auth: Literal["hmac", "token"] = "hmac"
    secret: str
    into: str = ""
    context: dict[str, Any] = Field(default_factory=dict)
    rate_per_min: int = Field(60, ge=1, le=100_000)
    max_body_bytes: int = Field(256 * 1024, ge=1, le=64 * 1024 * 1024)
    enabled: bool = True
    description: str = ""

    @field_validator("secret")
    @classmethod
    def _secret_ref(cls, v):
        if not SECRET_REF.match(v.strip()):
            raise ValueError("secret must be a reference such as '{secret:MY_HOOK}' (never the secret itself)")
        return v.strip()


class FileTriggerSpec(BaseModel):
    """A ``[[triggers]]`` entry of type file: a new or changed file matching ``folder``/``glob`` starts a run."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["file"]
    id: str = Field(pattern=ID_PATTERN)
    folder: str = Field(min_length=1)
    glob: str = Field("*", min_length=1)
    into: str = Field("file", min_length=1)
    context: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    description: str = ""

    @field_validator("glob")
    @classmethod
    def _glob(cls, v):
        if v.startswith("/") or ".." in v.split("/"):
            raise ValueError("glob is relative to folder and may not climb out of it")
        return v


TriggerSpec = Annotated[WebhookTriggerSpec | FileTriggerSpec, Field(discriminator="type")]


def check_unique_ids(schedules: list[ScheduleSpec], triggers: list) -> None:
    """Give unnamed schedules ids s1, s2… by position; refuse two entries with one id."""
    seen: set[str] = set()
    for i, s in enumerate(schedules, 1):
        if s.id is None:
            s.id = f"s{i}"
        if s.id in seen:
            raise ValueError(f"two schedules have the id {s.id!r}")
        seen.add(s.id)
    seen = set()
    for t in triggers:
        if t.id in seen:
            raise ValueError(f"two triggers have the id {t.id!r}")
        seen.add(t.id)


# ------------------------------------------------------------------------------------ fire times
def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def next_fire(cron: str | None, every_s: float | None, tz: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware UTC)."""
    after = _aware(after)
    if every_s is not None:
        ts = after.timestamp()
        k = int(ts // every_s) + 1
        while k * every_s <= ts:  # float guard
            k += 1
        return datetime.fromtimestamp(k * every_s, UTC)
    assert cron is not None
    local = after.astimezone(zone(tz))
    it = croniter(cron, local, second_at_beginning=len(cron.split()) == 6)
    return it.get_next(datetime).astimezone(UTC)


def fire_times(cron: str | None, every_s: float | None, tz: str, after: datetime, until: datetime, cap: int = 1000):
    """Fire times in ``(after, until]`` (aware UTC), the oldest ``cap`` of them, and how many there were.

    Returns ``(times, total)``: ``times`` holds the oldest ``cap`` slots; ``total`` counts all of them
    (exact for intervals, at most ``cap + 1`` for cron)."""
    after, until = _aware(after), _aware(until)
    if every_s is not None:
        first = next_fire(None, every_s, tz, after)
        if first > until:
            return [], 0
        total = int((until.timestamp() - first.timestamp()) // every_s) + 1
        return [first + timedelta(seconds=every_s * i) for i in range(min(total, cap))], total
    times: list[datetime] = []
    t = after
    while len(times) <= cap:
        t = next_fire(cron, None, tz, t)
        if t > until:
            break
        times.append(t)
    return times[:cap], len(times)


def last_fire_at_or_before(cron: str | None, every_s: float | None, tz: str, when: datetime) -> datetime | None:
    """The newest slot at or before ``when`` (aware UTC), or None."""
    when = _aware(when)
    if every_s is not None:
        k = int(when.timestamp() // every_s)
        return datetime.fromtimestamp(k * every_s, UTC)
    assert cron is not None
    local = (when + timedelta(microseconds=1)).astimezone(zone(tz))
    it = croniter(cron, local, second_at_beginning=len(cron.split()) == 6)
    try:
        return it.get_prev(datetime).astimezone(UTC)
    except Exception:  # no earlier slot
        return None


def upcoming(cron: str | None, every_s: float | None, tz: str, n: int = 5, after: datetime | None = None):
    """The next ``n`` fire times after ``after`` (default now), aware UTC."""
    t = _aware(after or utc_now())
    out = []
    for _ in range(n):
        t = next_fire(cron, every_s, tz, t)
        out.append(t)
    return out
