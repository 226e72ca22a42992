"""The Settings page lists secret names and sources, never values, and says when a file is refused."""

from __future__ import annotations

from tests.app.conftest import app_engine, page_test, texts  # noqa: F401  (fixtures)

VALUE = "panel-Value-31415"


def _everything(at) -> str:
    return texts(at) + "".join(df.value.to_csv() for df in at.dataframe)


def test_settings_lists_secret_names_never_values(page_test, app_engine, monkeypatch, tmp_path):  # noqa: F811
    user_file = tmp_path / "secrets.toml"
    user_file.write_text(f'FROM_FILE = "{VALUE}-file"\n')
    user_file.chmod(0o600)
    monkeypatch.setenv("WORKBENCH_SECRETS_FILE", str(user_file))
    monkeypatch.setenv("WORKBENCH_SECRET_PANEL_TOKEN", VALUE)
    at = page_test("settings")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    table = next(df.value for df in at.dataframe if "source" in df.value.columns)
    sources = dict(zip(table["name"], table["source"]))
    assert sources["PANEL_TOKEN"] == "environment" and sources["FROM_FILE"] == str(user_file)
    assert VALUE not in _everything(at)

    user_file.chmod(0o644)  # others may read it now: refused, and the page says how to fix it
    at.run()
    assert "chmod 600" in texts(at) and VALUE not in _everything(at)
