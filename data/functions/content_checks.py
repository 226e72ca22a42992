"""Content review: plagiarism, tone and link checks run in parallel; the join publishes or sends to an editor."""

from __future__ import annotations

import re

from gallery_common import find, keep_message

SHOUTING = re.compile(r"\b[A-Z]{4,}\b")
INSULTS = ("stupid", "idiot", "terrible", "garbage")
KNOWN_TEXTS = ("lorem ipsum dolor sit amet",)


def load_article(context: dict) -> dict:
    """The draft from data/samples/articles.csv."""
    return {"article": find("articles.csv", "article_id", context["article_id"])}


def check_plagiarism(context: dict) -> dict:
    """Known boilerplate or a sentence repeated verbatim counts as copied."""
    text = context["article"]["text"]
    sentences = [s.strip().lower() for s in re.split(r"[.!?]", text) if s.strip()]
    copied = any(k in text.lower() for k in KNOWN_TEXTS) or len(set(sentences)) < len(sentences)
    return {"plagiarism_ok": not copied}


def check_tone(context: dict, max_exclamations: int = 2) -> dict:
    """No shouting, no insults, few exclamation marks."""
    text = context["article"]["text"]
    issues = []
    if len(SHOUTING.findall(text)) > 1:
        issues.append("shouting")
    if any(w in text.lower() for w in INSULTS):
        issues.append("insults")
    if text.count("!") > max_exclamations:
        issues.append("too many exclamation marks")
    return {"tone_ok": not issues, "tone_issues": issues}


def check_links(context: dict, allowed: tuple = ("example.org", "example.com")) -> dict:
    """Every link points to an allowed domain (checked offline, by name)."""
    hosts = re.findall(r"https?://([^/\s]+)", context["article"]["text"])
    bad = [h for h in hosts if h not in allowed]
    return {"links_ok": not bad, "bad_links": bad}


def publish_article(context: dict) -> dict:
    """Publish: a slug and the URL."""
    slug = "-".join(re.findall(r"[a-z0-9]+", context["article"]["title"].lower()))
    return {"published_url": f"https://blog.example.com/{slug}", "published": True}


def send_to_editor(context: dict) -> dict:
    """Send to an editor with the failed checks."""
    failed = [k.removesuffix("_ok") for k in ("plagiarism_ok", "tone_ok", "links_ok") if context.get(k) is False]
    return {
        **keep_message(context, f"Editor: '{context['article']['title']}' needs work ({', '.join(failed)})"),
        "published": False,
        "failed_checks": failed,
    }
