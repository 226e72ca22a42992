"""Incident response: critical alerts page the on-call engineer and open an incident channel (in parallel);
other alerts go to the daily digest."""

from __future__ import annotations

from gallery_common import find, keep_message


def receive_alert(context: dict) -> dict:
    """The alert from data/samples/alerts.csv."""
    return {"alert": find("alerts.csv", "alert_id", context["alert_id"])}


def classify_severity(context: dict) -> dict:
    """Critical when the alert says so or the service is on the critical list."""
    a = context["alert"]
    critical_services = set(context.get("critical_services") or ["payments", "auth"])
    critical = a["severity"] == "critical" or (a["severity"] == "warning" and a["service"] in critical_services)
    return {"severity": "critical" if critical else a["severity"]}


def page_on_call_engineer(context: dict) -> dict:
    """Page whoever is on call."""
    return {**keep_message(context, f"PAGE on-call: {context['alert']['message']}"), "paged": "on-call"}


def open_incident_channel(context: dict) -> dict:
    """An incident channel named after the service and alert."""
    a = context["alert"]
    return {"incident_channel": f"#inc-{a['service']}-{a['alert_id'].lower()}"}


def create_incident_ticket(context: dict) -> dict:
    """Incident record with the channel and who was paged."""
    a = context["alert"]
    return {
        "incident": {
            "id": f"INC-{a['alert_id']}",
            "service": a["service"],
            "channel": context["incident_channel"],
            "paged": context.get("paged"),
            "status": "open",
        }
    }


def add_to_daily_digest(context: dict) -> dict:
    """Queue the alert for the daily digest."""
    return {"digest": [*context.get("digest", []), context["alert"]["message"]]}


def write_postmortem_stub(context: dict) -> dict:
    """A post-mortem skeleton for the incident."""
    inc = context["incident"]
    return {"postmortem": f"# {inc['id']} ({inc['service']})\n\n## Timeline\n\n## Root cause\n\n## Actions\n"}
