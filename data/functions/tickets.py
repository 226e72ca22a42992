"""Support tickets: classify, search the knowledge base, route; also the LLM triage and webhook templates."""

from __future__ import annotations

import json
import re

from gallery_common import find, keep_message, rows

URGENT_WORDS = ("down", "outage", "urgent", "500 errors", "cannot log in", "data loss", "security")
BILLING_WORDS = ("charged", "invoice", "refund", "billing", "payment")


def load_ticket(context: dict) -> dict:
    """The ticket from data/samples/tickets.csv (ticket_id), or the one in the context (webhook body)."""
    if context.get("ticket_id") not in (None, ""):
        t = find("tickets.csv", "ticket_id", context["ticket_id"])
    else:
        t = {k: str(context.get(k) or "") for k in ("customer", "subject", "body", "plan")}
    if not (t.get("subject") or t.get("body")):
        raise ValueError("the ticket has neither a subject nor a body")
    return {"ticket": t}


def _text(ticket: dict) -> str:
    return f"{ticket.get('subject', '')} {ticket.get('body', '')}".lower()


def classify_ticket(context: dict) -> dict:
    """Urgency (high/normal) and topic (billing/technical/how_to) from the ticket's words (loaded when absent)."""
    t = context.get("ticket") or load_ticket(context)["ticket"]
    text = _text(t)
    urgent = any(w in text for w in URGENT_WORDS)
    topic = "billing" if any(w in text for w in BILLING_WORDS) else ("technical" if urgent else "how_to")
    return {"ticket": t, "urgency": "high" if urgent else "normal", "topic": topic}


def urgent_assignment(context: dict) -> dict:
    """Assign the on-duty senior engineer."""
    return {"assignee": "senior-support", "priority": "P1"}


def notify_escalation(context: dict) -> dict:
    """Tell the escalation channel."""
    return keep_message(context, f"P1 ticket from {context['ticket']['customer']}: {context['ticket']['subject']}")


def check_knowledge_base(context: dict) -> dict:
    """The knowledge-base article whose keywords match the ticket best (none: solution_found False)."""
    words = set(re.findall(r"[a-z]+", _text(context["ticket"])))
    best, score = None, 0
    for art in rows("knowledge_base.csv"):
        s = len(words & set(art["keywords"].split()))
        if s > score:
            best, score = art, s
    return {
        "solution_found": best is not None,
        "kb_article": best["article_id"] if best else None,
        "kb_answer": best["answer"] if best else None,
    }


def send_automated_response(context: dict) -> dict:
    """Reply with the article."""
    return keep_message(context, f"{context['ticket']['customer']}: {context['kb_answer']}")


def assign_to_team(context: dict, team: str = "") -> dict:
    """Queue the ticket for a team (billing tickets to billing, the rest to support)."""
    team = team or ("billing" if context.get("topic") == "billing" else "support")
    return {"assignee": team}


def mark_resolved(context: dict) -> dict:
    """Close the ticket as solved by the article."""
    return {"resolution": "solved by " + str(context.get("kb_article"))}


def track_resolution(context: dict) -> dict:
    """One line of tracking: who has it, how it ended."""
    return {
        "tracking": {
            "assignee": context.get("assignee"),
            "resolution": context.get("resolution", "open"),
            "urgency": context.get("urgency"),
        }
    }


def read_urgency(context: dict, answer_key: str = "llm_triage") -> dict:
    """Read the LLM's triage answer ({"urgency": "high"|"normal", "topic": ...}); when it has none (the
    offline default answers without a model), fall back to the keyword rules and say so."""
    answer = context.get(answer_key)
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            answer = None
    if isinstance(answer, dict) and answer.get("urgency") in ("high", "normal"):
        return {"urgency": answer["urgency"], "topic": answer.get("topic") or "how_to", "triaged_by": "llm"}
    return {**classify_ticket(context), "triaged_by": "keyword rules (no model answer)"}


def page_support_lead(context: dict) -> dict:
    """Page the support lead for an urgent ticket."""
    return {**keep_message(context, f"PAGE support lead: {context['ticket']['subject']}"), "assignee": "support-lead"}


def draft_reply(context: dict) -> dict:
    """A reply from the knowledge base, or an acknowledgement."""
    kb = check_knowledge_base(context)
    text = kb["kb_answer"] or "Thanks, we received your request and will answer within one business day."
    return {**kb, **keep_message(context, f"{context['ticket']['customer']}: {text}"), "assignee": "auto-reply"}
