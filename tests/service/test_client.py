"""The client without a server: where it points and what it says when nothing answers."""

from __future__ import annotations

import pytest

from engine.client import DEFAULT_SERVER, ServiceError, WorkbenchClient, server_url
from tests.service.conftest import free_port


def test_server_url_from_the_environment(monkeypatch):
    monkeypatch.delenv("WORKBENCH_SERVER", raising=False)
    assert server_url() == DEFAULT_SERVER == "http://127.0.0.1:8000"
    monkeypatch.setenv("WORKBENCH_SERVER", "http://10.0.0.5:9000/")
    assert WorkbenchClient().base_url == "http://10.0.0.5:9000"


def test_nothing_listening_is_a_clear_service_error():
    url = f"http://127.0.0.1:{free_port()}"
    with WorkbenchClient(url, timeout=5) as c:
        with pytest.raises(ServiceError) as e:
            c.health()
        assert "cannot reach the workbench service at " + url in str(e.value) and "workbench serve" in str(e.value)
        with pytest.raises(ServiceError):
            list(c.events("x", timeout=5))
