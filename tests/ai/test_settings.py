from engine.ai.settings import AISettings, Secret
from tests.ai.conftest import KEY


def test_offline_when_neither_key_nor_base_url():
    assert AISettings.from_env({}).provider == "offline"
    assert not AISettings.from_env({}).online


def test_provider_kinds():
    assert AISettings.from_env({"OPENAI_API_KEY": KEY}).provider == "openai"
    assert AISettings.from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1"}).provider == "local"
    assert AISettings.from_env({"OPENAI_BASE_URL": "http://gpu-box:8000/v1"}).provider == "compatible"
    assert AISettings.from_env({"OPENAI_API_KEY": KEY, "WORKBENCH_AI_OFFLINE": "1"}).provider == "offline"


def test_defaults_and_env_values():
    s = AISettings.from_env({})
    assert (s.timeout_s, s.max_retries, s.decision_threshold) == (20.0, 1, 70)
    s = AISettings.from_env(
        {
            "WORKBENCH_LLM_TIMEOUT": "3",
            "WORKBENCH_LLM_MAX_RETRIES": "0",
            "WORKBENCH_DECISION_THRESHOLD": "85",
            "WORKBENCH_LLM_MODEL": "llama3.2",
            "WORKBENCH_LLM_DAILY_BUDGET_USD": "0.5",
            "WORKBENCH_LLM_CACHE_TTL": "60",
        }
    )
    assert (s.timeout_s, s.max_retries, s.decision_threshold, s.model, s.daily_budget_usd, s.cache_ttl_s) == (
        3.0,
        0,
        85,
        "llama3.2",
        0.5,
        60.0,
    )


def test_key_is_never_shown():
    s = AISettings.from_env({"OPENAI_API_KEY": KEY})
    assert KEY not in repr(s) and KEY not in str(s) and KEY not in str(s.describe())
    assert s.api_key.get_secret_value() == KEY
    assert KEY not in repr(Secret(KEY)) and KEY not in str(Secret(KEY))
    assert s.describe()["api_key"] == "set"


def test_prices():
    from engine.ai.prices import cost_usd

    assert cost_usd("llama3.2", "local", 1000, 1000) == 0
    assert cost_usd("gpt-4o-mini", "openai", 1_000_000, 0) == 0.15
    assert cost_usd("gpt-4o-mini-2024-07-18", "local", 0, 1_000_000) == 0.60
    assert cost_usd("some-unknown-model", "compatible", 1_000_000, 0) > 0  # a budget still protects
