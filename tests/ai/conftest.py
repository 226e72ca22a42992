"""AI tests: no real model, no key from the developer's environment."""

import logging

import pytest

KEY = "sk-test-SECRETKEY-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_ai_env(monkeypatch):
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "WORKBENCH_LLM_MODEL",
        "WORKBENCH_AI_OFFLINE",
        "WORKBENCH_LLM_PRICE_IN",
        "WORKBENCH_LLM_PRICE_OUT",
        "WORKBENCH_LLM_DAILY_BUDGET_USD",
        "WORKBENCH_LLM_WORKFLOW_BUDGET_USD",
        "WORKBENCH_DECISION_THRESHOLD",
    ):
        monkeypatch.delenv(var, raising=False)
    from engine.ai import translator

    translator._cache.clear()
    yield
    translator._cache.clear()


@pytest.fixture
def ai(llm_settings, store):
    """AI services talking to the scripted server and recording into a real Store."""
    from engine.ai.translator import get_ai

    return get_ai(llm_settings, store)


@pytest.fixture
def offline_ai(store):
    from engine.ai.settings import AISettings
    from engine.ai.translator import get_ai

    return get_ai(AISettings(), store)


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog
