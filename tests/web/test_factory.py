from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from agent.core.pipeline import Agent
from agent.settings import get_settings, load_settings
from agent.storage.db import make_engine
from agent.storage.migrate import SchemaOutOfDate
from web import create_app
from web.db import runtime


def test_config(app: Flask) -> None:
    assert app.testing
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False  # plain HTTP unless THREADBOT_WEB_HTTPS


def test_settings_come_from_environment(
    monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine, agent: Agent, tmp_path: Path
) -> None:
    """Without a test config the app reads THREADBOT_* through the one settings object."""
    monkeypatch.setenv("THREADBOT_DATABASE_URL", sqlite_engine.url.render_as_string(False))
    monkeypatch.setenv("THREADBOT_SECRET_KEY", "from-the-environment-0123456789")
    monkeypatch.setenv("THREADBOT_WEB_HTTPS", "1")
    get_settings.cache_clear()
    try:
        app = create_app({"AGENT": agent})
    finally:
        get_settings.cache_clear()
    assert app.secret_key == "from-the-environment-0123456789"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        assert runtime().agent() is agent
    response = app.test_client().get("/healthz")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_secret_key_file_is_made_once_and_private(
    sqlite_engine: Engine, agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no key configured, a random one is kept (owner-only) in the instance folder."""
    settings = load_settings(database_url=sqlite_engine.url.render_as_string(False))
    config = {
        "SETTINGS": settings,
        "ENGINE": sqlite_engine,
        "AGENT": agent,
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    one, two = create_app(config), create_app(config)
    assert not one.testing
    key_file = tmp_path / "instance" / "secret_key"
    assert one.secret_key == two.secret_key == key_file.read_text().strip()
    assert len(str(one.secret_key)) == 64
    assert key_file.stat().st_mode & 0o077 == 0


def test_refuses_unmigrated_database(tmp_path: Path, agent: Agent) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    settings = load_settings(database_url=str(engine.url))
    with pytest.raises(SchemaOutOfDate):
        create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine, "AGENT": agent})
    engine.dispose()
