"""The workbench as a service: a FastAPI app (``create_app``) that drives runs on its own.

``workbench serve`` starts it; :mod:`engine.client` and the CLI talk to it over HTTP.
"""

from engine.service.app import API_PREFIX, create_app

__all__ = ["create_app", "API_PREFIX"]
