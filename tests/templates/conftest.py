"""The gallery's AppTests reuse the app fixtures (a real store, an inline engine behind the pages)."""

from tests.app.conftest import app_engine, page_test  # noqa: F401
