"""The AI layer: an OpenAI-compatible LLM service with an offline default.

from engine.ai import get_ai
ai = get_ai()                       # settings from the environment, the default store
tr = ai.translator.translate("validate the order, then ship it")
d = ai.decisions.evaluate_condition('"the customer sounds angry"', {"message": "…"})
if d.needs_human(threshold): ...    # the run waits for a person
"""

from engine.ai.settings import AISettings, Secret

__all__ = ["AISettings", "Secret", "get_ai"]


def get_ai(settings=None, store=None):
    from engine.ai.translator import get_ai as _get_ai

    return _get_ai(settings, store)
