"""``llm`` action: a prompt template filled from the context, answered through the AI layer.

``prompt = "Summarise the complaint: {ticket.text}"``, ``output = "text" | "json"``, ``into`` the key.
With no model configured the offline default answers deterministically and says so
(``<into>_provider == "offline"``); calls are recorded in ``llm_calls`` like every AI call.
"""

from __future__ import annotations

import hashlib
import json
import re

from engine.actions.templating import fill


def _offline_answer(prompt: str, output: str) -> str:
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    words = re.findall(r"[A-Za-z0-9']+", prompt)
    gist = " ".join(words[:24])
    if output == "json":
        return json.dumps(
            {
                "offline": True,
                "answer": None,
                "prompt_digest": digest,
                "note": "no LLM is configured; set OPENAI_BASE_URL or OPENAI_API_KEY",
            }
        )
    return (
        f"[offline answer {digest}: no LLM is configured, so this step did not call a model] "
        f"Prompt was: {gist}{'…' if len(words) > 24 else ''}"
    )


def _parse_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        m = re.search(r"\{.*\}|\[.*\]", text, re.S)
        if m:
            return json.loads(m.group(0))
        raise ValueError('the model\'s answer is not JSON; ask for JSON in the prompt or use output = "text"')


def run_llm(binding: dict, ctx, meta: dict) -> dict:
    from engine.ai import get_ai

    store = None
    if meta.get("db_path"):
        from engine.store import get_store

        store = get_store(meta["db_path"])
    prompt = fill(binding["prompt"], ctx)
    output = binding.get("output") or "text"
    system = binding.get("system") or (
        "You are one step of an automated workflow. Answer the request "
        "directly and concisely." + (" Reply with one JSON object only." if output == "json" else "")
    )
    into = binding.get("into") or meta.get("state") or "answer"
    ai = get_ai(store=store)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    res = ai.llm.complete_text(
        "llm_state",
        None,
        messages=messages,
        workflow_id=meta.get("workflow_id"),
        execution_id=meta.get("execution_id"),
        state=meta.get("state"),
        fallback=lambda: _offline_answer(prompt, output),
    )
    text = res.value or ""
    value = _parse_json(text) if output == "json" else text
    return {into: value, f"{into}_provider": res.provider}
