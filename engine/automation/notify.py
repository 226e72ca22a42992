"""Notification channels: a Slack-compatible incoming webhook, a generic JSON webhook and e-mail over SMTP.

Configuration (docs/automation.md, "Notifications"):

* per workflow, a ``[notifications]`` table in the workflow file (:class:`NotificationSettings`):
  ``channels`` (names from the settings file, or inline ``{type = "slack", url = …}`` tables) and
  ``on`` (``failed``, ``waiting``, ``deadline``, ``completed``);
* a default for workflows without one, named channels, the SMTP server, retries and the app's URL in
  the settings file ``data/notifications.toml`` (``WORKBENCH_NOTIFICATIONS_FILE`` names another one).

URLs, headers and the SMTP password may hold ``{secret:NAME}`` references (engine/secrets.py): they are
resolved only when a message is sent; error texts are redacted before they are recorded. The service's
loop that detects events and records each attempt is :mod:`engine.automation.notifier`.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
import tomllib
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import WorkbenchError

EventName = Literal["failed", "waiting", "deadline", "completed"]
EVENTS: tuple[str, ...] = ("failed", "waiting", "deadline", "completed")
DEFAULT_ON: list[EventName] = ["failed", "waiting", "deadline"]
DEFAULT_APP_URL = "http://localhost:8501"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_S = 2.0
CHANNEL_TYPES = ("slack", "webhook", "email")


class NotifyError(WorkbenchError):
    """A message could not be delivered, or the settings are wrong (the text never holds a secret value)."""


class ChannelSpec(BaseModel):
    """One place messages go: ``slack`` / ``webhook`` need ``url``, ``email`` needs ``to``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["slack", "webhook", "email"]
    name: str | None = Field(None, max_length=100)
    url: str | None = None  # may be "{secret:NAME}": Slack's URL is itself a credential
    headers: dict[str, str] = Field(default_factory=dict)
    allowed_hosts: list[str] = Field(default_factory=list)  # public hosts a workflow's own URL may reach
    to: list[str] = Field(default_factory=list)
    subject: str | None = None
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=300)
    blocks: bool = True  # slack: add Block Kit blocks; false for receivers that take only {"text"}

    @model_validator(mode="after")
    def _target(self):
        if self.type in ("slack", "webhook") and not self.url:
            raise ValueError(f"a '{self.type}' channel needs 'url'")
        if self.type == "email" and not self.to:
            raise ValueError("an 'email' channel needs 'to' (a list of addresses)")
        return self

    @property
    def label(self) -> str:
        """The name shown in the records (the name, else the type)."""
        return self.name or self.type


class NotificationSettings(BaseModel):
    """``[notifications]`` of a workflow file (or ``[default]`` of the settings file)."""

    model_config = ConfigDict(extra="forbid")
    channels: list[str | ChannelSpec] = Field(default_factory=list)
    on: list[EventName] = Field(default_factory=lambda: list(DEFAULT_ON))
    enabled: bool = True


class SmtpSettings(BaseModel):
    """The SMTP server every e-mail goes through (administrator's settings; env overrides)."""

    model_config = ConfigDict(extra="forbid")
    host: str = "localhost"
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: str | None = None  # "{secret:SMTP_PASSWORD}"
    sender: str = "workbench@localhost"
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=300)
    ca_file: str | None = None  # PEM bundle to trust (an internal CA); default: the system's CAs

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context (certificate and host name checked)."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()

    def effective_port(self) -> int:
        """The port, or the usual one for the security mode."""
        return self.port or {"ssl": 465, "starttls": 587}.get(self.security, 25)


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1, le=20)
    backoff_s: float = Field(DEFAULT_BACKOFF_S, ge=0, le=3600)
    max_backoff_s: float = Field(300.0, ge=0)

    def delay(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1`` (exponential)."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempt - 1))


class NotifySettingsFile(BaseModel):
    """The settings file ``data/notifications.toml``."""

    model_config = ConfigDict(extra="forbid")
    app_url: str | None = None
    default: NotificationSettings = Field(default_factory=lambda: NotificationSettings(on=["failed", "deadline"]))
    channels: dict[str, ChannelSpec] = Field(default_factory=dict)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    lookback_s: float = Field(3600.0, gt=0)  # events older than this when the service starts are not sent


_cache: dict[str, tuple[float, NotifySettingsFile]] = {}


def settings_path() -> Path:
    """``WORKBENCH_NOTIFICATIONS_FILE``, else ``data/notifications.toml`` (it need not exist)."""
    from engine.sandbox import DATA_DIR

    return Path(os.environ.get("WORKBENCH_NOTIFICATIONS_FILE") or DATA_DIR / "notifications.toml")


def load_settings() -> NotifySettingsFile:
    """The notification settings (re-read when the file changes), with environment overrides:
    ``WORKBENCH_APP_URL``, ``WORKBENCH_SMTP_HOST|PORT|SECURITY|USERNAME|PASSWORD|FROM``."""
    path = settings_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    hit = _cache.get(str(path))
    if hit and hit[0] == mtime:
        base = hit[1]
    else:
        data: dict = {}
        if mtime >= 0:
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise NotifyError(f"the notification settings {path} are unreadable: {exc}") from None
        try:
            base = NotifySettingsFile.model_validate(data)
        except ValidationError as exc:
            raise NotifyError(f"the notification settings {path} are invalid: {exc}") from None
        for name, ch in base.channels.items():
            ch.name = ch.name or name
        _cache[str(path)] = (mtime, base)
    smtp = base.smtp.model_dump()
    for key, env in (
        ("host", "WORKBENCH_SMTP_HOST"),
        ("port", "WORKBENCH_SMTP_PORT"),
        ("security", "WORKBENCH_SMTP_SECURITY"),
        ("username", "WORKBENCH_SMTP_USERNAME"),
    ):
        value = os.environ.get(env)
        if value:
            smtp[key] = int(value) if key == "port" else value
    if os.environ.get("WORKBENCH_SMTP_PASSWORD"):
        smtp["password"] = os.environ["WORKBENCH_SMTP_PASSWORD"]
    if os.environ.get("WORKBENCH_SMTP_FROM"):
        smtp["sender"] = os.environ["WORKBENCH_SMTP_FROM"]
    return base.model_copy(update={"smtp": SmtpSettings.model_validate(smtp)})


def app_url(settings: NotifySettingsFile | None = None) -> str:
    """The app's base URL for links (``WORKBENCH_APP_URL``, the settings file, else localhost:8501)."""
    settings = settings or load_settings()
    return (os.environ.get("WORKBENCH_APP_URL") or settings.app_url or DEFAULT_APP_URL).rstrip("/")


def run_link(execution_id: str, settings: NotifySettingsFile | None = None) -> str:
    """The app page that opens this run (History page deep link ``?run=<id>``)."""
    return f"{app_url(settings)}/history?run={execution_id}"


def resolve_channels(refs: list[str | ChannelSpec], settings: NotifySettingsFile) -> list[tuple[ChannelSpec, bool]]:
    """Channels for references: ``(channel, trusted)``; named channels come from the administrator's
    file (trusted: any host), inline ones from a workflow (its URL goes through the http sandbox)."""
    out = []
    for ref in refs:
        if isinstance(ref, ChannelSpec):
            out.append((ref, False))
            continue
        ch = settings.channels.get(ref)
        if ch is None:
            raise NotifyError(
                f"no notification channel named '{ref}' in {settings_path()} "
                f"(known: {', '.join(sorted(settings.channels)) or 'none'})"
            )
        out.append((ch, True))
    return out


# ----------------------------------------------------------------------------- messages
_TITLES = {
    "failed": "Run failed",
    "waiting": "Waiting for a person",
    "deadline": "Deadline missed",
    "completed": "Run completed",
    "step": "Message",
}


def build_message(event: dict) -> dict:
    """Subject, text and JSON payload for an event dict (kind, execution_id, workflow_name, version,
    status, state, error, question, request_kind, deadline_s, elapsed_s, link, message)."""
    kind = event.get("kind") or "step"
    wf = event.get("workflow_name") or event.get("workflow_id") or "workflow"
    version = event.get("version")
    name = f"{wf} v{version}" if version is not None else wf
    title = _TITLES.get(kind, kind)
    lines = []
    if event.get("message"):
        lines.append(str(event["message"]))
    where = f" at state '{event['state']}'" if event.get("state") else ""
    if kind == "failed":
        lines.append(f"{name} failed{where}: {event.get('error') or 'no error message'}")
    elif kind == "waiting":
        what = {"approval": "an approval", "decision": "a decision", "escalation": "an escalation"}.get(
            event.get("request_kind") or "", "an answer"
        )
        lines.append(f"{name} is waiting for {what}{where}: {event.get('question') or ''}".rstrip(": "))
    elif kind == "deadline":
        scope = f"state '{event['state']}'" if event.get("state") else "the run"
        lines.append(
            f"{name}: {scope} passed its deadline of {float(event.get('deadline_s') or 0):g} s "
            f"({float(event.get('elapsed_s') or 0):.1f} s so far; run status {event.get('status')})"
        )
    elif kind == "completed":
        lines.append(f"{name} completed{where}.")
    if event.get("execution_id"):
        lines.append(f"Run {event['execution_id']}: {event.get('link') or run_link(event['execution_id'])}")
    text = "\n".join(lines)
    subject = f"[workbench] {title}: {name}"
    payload = {
        "event": kind,
        "title": title,
        "text": text,
        "workflow": {"id": event.get("workflow_id"), "name": wf, "version": version},
        **{
            k: event.get(k)
            for k in (
                "execution_id",
                "status",
                "state",
                "error",
                "question",
                "request_id",
                "request_kind",
                "deadline_s",
                "elapsed_s",
                "link",
            )
            if event.get(k) is not None
        },
        "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return {"subject": subject, "text": text, "payload": payload, "title": title}


def slack_body(message: dict, blocks: bool = True) -> dict:
    """A Slack-compatible incoming-webhook body: ``text`` plus (``blocks``) a header, the text and the
    run button."""
    if not blocks:
        return {"text": message["text"]}
    parts: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message["subject"][:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message["text"][:2900]}},
    ]
    link = message["payload"].get("link")
    if link:
        parts.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the run"}, "url": link}],
            }
        )
    return {"text": message["text"], "blocks": parts}


# ----------------------------------------------------------------------------- sending
def _secrets():
    from engine import secrets

    return secrets


def redact(text: str) -> str:
    """Error text with every known secret value replaced (engine.secrets)."""
    try:
        return str(_secrets().redact(text))
    except Exception:  # never let redaction hide the original failure
        return text


def target_of(channel: ChannelSpec) -> str:
    """Where a channel sends, safe to record: scheme://host[:port] of a URL (its path may be a
    credential, Slack's is), or the recipients of an e-mail."""
    if channel.type == "email":
        return ", ".join(channel.to)
    if channel.url and "{secret:" in channel.url.split("//", 1)[-1].split("/", 1)[0]:
        return "(secret URL)"
    parsed = urlparse(channel.url or "")
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else "(secret URL)"


def send(channel: ChannelSpec, message: dict, *, trusted: bool, settings: NotifySettingsFile | None = None) -> str:
    """Deliver one message on one channel; returns a short description of the answer.
    Raises :class:`NotifyError` (redacted text) on any failure."""
    settings = settings or load_settings()
    try:
        if channel.type == "email":
            return _send_email(channel, message, settings.smtp)
        body = slack_body(message, channel.blocks) if channel.type == "slack" else message["payload"]
        return _post_json(channel, body, trusted=trusted)
    except (NotifyError, PermissionError):  # PermissionError: the sandbox refused the host
        raise
    except Exception as exc:
        raise NotifyError(redact(f"{type(exc).__name__}: {exc}")[:1000]) from None


def _post_json(channel: ChannelSpec, body: dict, *, trusted: bool) -> str:
    import httpx

    secrets = _secrets()
    url = str(secrets.resolve(channel.url or ""))
    headers = {"Content-Type": "application/json", **dict(secrets.resolve(dict(channel.headers)))}
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise NotifyError(f"a {channel.type} channel needs an http(s) URL")
    if not trusted:  # a workflow's own URL: the same host rules as the http action
        from engine.sandbox import check_http_host

        check_http_host(parsed.hostname, parsed.port, channel.allowed_hosts)
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=channel.timeout_s) as client:
        resp = client.post(url, content=json.dumps(body, default=str).encode(), headers=headers)
    if resp.status_code >= 300:
        raise NotifyError(f"HTTP {resp.status_code} from {parsed.hostname}")
    return f"HTTP {resp.status_code}"


def _send_email(channel: ChannelSpec, message: dict, smtp: SmtpSettings) -> str:
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(channel.to)
    msg["Subject"] = channel.subject or message["subject"]
    msg.set_content(message["text"])
    link = message["payload"].get("link")
    if link:
        msg["X-Workbench-Run"] = message["payload"].get("execution_id") or ""
    port = smtp.effective_port()
    if smtp.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, port, timeout=smtp.timeout_s, context=smtp.tls_context())
    else:
        server = smtplib.SMTP(smtp.host, port, timeout=smtp.timeout_s)
    with server:
        if smtp.security == "starttls":
            server.starttls(context=smtp.tls_context())
        if smtp.username:
            password = str(_secrets().resolve(smtp.password or ""))
            server.login(smtp.username, password)
        refused = server.send_message(msg)
    if refused:
        raise NotifyError(f"the SMTP server refused {', '.join(sorted(refused))}")
    return f"accepted by {smtp.host}:{port} for {len(channel.to)} recipient(s)"


# ----------------------------------------------------------------------------- for the app and the CLI
def settings_summary() -> dict:
    """What is configured, safe to show: file, app URL, default, channels (name, type, where), SMTP
    server (whether a password is set, never its value), retries."""
    settings = load_settings()
    path = settings_path()
    return {
        "path": str(path),
        "exists": path.exists(),
        "app_url": app_url(settings),
        "default": {
            "channels": [c if isinstance(c, str) else c.label for c in settings.default.channels],
            "on": list(settings.default.on),
            "enabled": settings.default.enabled,
        },
        "channels": [
            {"name": name, "type": ch.type, "target": target_of(ch)} for name, ch in sorted(settings.channels.items())
        ],
        "smtp": {
            "host": settings.smtp.host,
            "port": settings.smtp.effective_port(),
            "security": settings.smtp.security,
            "username": settings.smtp.username,
            "password_set": bool(settings.smtp.password),
            "sender": settings.smtp.sender,
        },
        "retry": settings.retry.model_dump(),
    }


def send_test(channel_name: str, text: str = "Test message from the workbench") -> str:
    """Send a test message on a channel named in the settings file; returns the answer's description."""
    settings = load_settings()
    channel, trusted = resolve_channels([channel_name], settings)[0]
    return send(channel, build_message({"kind": "step", "message": text}), trusted=trusted, settings=settings)
