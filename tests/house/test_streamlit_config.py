"""The project's .streamlit/config.toml, as Streamlit itself reads it when `make run` starts the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _option(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    code = f"from streamlit import config\nconfig.get_config_options()\nprint(config.get_option({name!r}))"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1]


def test_the_app_listens_on_loopback_only_and_sends_no_usage_stats():
    assert _option("server.address") == "127.0.0.1"
    assert _option("browser.gatherUsageStats") == "False"
    assert _option("server.fileWatcherType") == "none"
