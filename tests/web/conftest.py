"""Web fixtures: an app per test on a fresh migrated database, a client, and an admin helper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.core.pipeline import Agent
from agent.settings import Settings, get_settings, load_settings
from agent.storage.db import make_sessionmaker
from agent.storage.models import Conversation, Turn, User
from tests.agent.conftest import parser, script  # noqa: F401  (shared session fixtures)
from web import create_app
from web.review import accounts

PASSWORD = "correct horse battery staple"
CSRF = "test-csrf-token"


def make_app(engine: Engine, agent: Agent, **overrides: Any) -> Flask:
    """An app on ``engine`` with ``agent``; settings overrides go through the real validator."""
    settings: Settings = load_settings(database_url=engine.url.render_as_string(False), **overrides)
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SETTINGS": settings,
            "ENGINE": engine,
            "AGENT": agent,
        }
    )


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine) -> Iterator[CliRunner]:
    """A CLI runner whose settings point at the test database."""
    monkeypatch.setenv("THREADBOT_DATABASE_URL", sqlite_engine.url.render_as_string(False))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def agent(sqlite_engine: Engine, script: Any, parser: Any) -> Agent:  # noqa: F811
    return Agent(script, parser, None, make_sessionmaker(sqlite_engine))


@pytest.fixture
def app(sqlite_engine: Engine, agent: Agent) -> Flask:
    return make_app(sqlite_engine, agent)


@pytest.fixture
def any_app(engine: Engine, script: Any, parser: Any) -> Flask:  # noqa: F811
    """The app on SQLite and on PostgreSQL (tests using it run twice)."""
    return make_app(engine, Agent(script, parser, None, make_sessionmaker(engine)))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session on the app's database, for arranging and checking rows."""
    session = app.extensions["threadbot"].sessions()
    yield session
    session.close()


class AdminActions:
    """Log an admin in and out through the real login form."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client

    def create(self, username: str = "alice", password: str = PASSWORD) -> None:
        with self.app.extensions["threadbot"].sessions.begin() as session:
            accounts.create_admin(session, username, password)

    def token(self) -> str:
        """Plant a known CSRF token in the client's session and return it."""
        with self.client.session_transaction() as session:
            session["csrf_token"] = CSRF
        return CSRF

    def login(
        self, username: str = "alice", password: str = PASSWORD, address: str = "127.0.0.1"
    ) -> Any:
        page = self.client.get("/admin/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"csrf_token": token[1], "username": username, "password": password}
        return self.client.post("/admin/login", data=form, environ_base={"REMOTE_ADDR": address})

    def logout(self) -> Any:
        return self.client.post("/admin/logout", data={"csrf_token": self.token()})

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        """POST a form with the CSRF token, as a page would."""
        return self.client.post(url, data={"csrf_token": self.token()} | (data or {}), **kw)


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> AdminActions:
    """An admin account, logged in."""
    actions = AdminActions(app, client)
    actions.create()
    response = actions.login()
    assert response.status_code == 303, response.text
    return actions


@pytest.fixture
def any_admin(any_app: Flask) -> AdminActions:
    actions = AdminActions(any_app, any_app.test_client())
    actions.create()
    assert actions.login().status_code == 303
    return actions


def add_turn(
    session: Session,
    user: str,
    text: str,
    *,
    channel: str = "web",
    reply: str | None = "ok",
    intent: str | None = "greet",
    confidence: float = 0.9,
    trusted: bool = True,
    tier: str = "scripted",
    state_before: str = "idle",
    state_after: str = "asked_topic",
    at: datetime | None = None,
    handle: str | None = None,
    **extra: Any,
) -> Turn:
    """Insert one turn (and its user and conversation on first use) with chosen facts."""
    found = session.scalar(select(User).where(User.channel == channel, User.external_id == user))
    at = at or datetime.now(UTC)
    if found is None:
        found = User(channel=channel, external_id=user, handle=handle)
        session.add(Conversation(user=found, state=state_after, slots={}, last_activity=at))
        session.flush()
    conv = found.conversation
    conv.state, conv.last_activity = state_after, at
    turn = Turn(
        conversation=conv,
        channel=channel,
        created_at=at,
        user_text=text,
        reply_text=reply,
        intent=intent,
        confidence=confidence,
        trusted=trusted,
        alternatives=[
            {"name": intent or "none", "confidence": confidence},
            {"name": "thanks", "confidence": round(1 - confidence, 3)},
        ],
        entities=extra.pop("entities", []),
        slots=extra.pop("slots", {}),
        state_before=state_before,
        state_after=state_after,
        tier=tier,
        latency_ms=extra.pop("latency_ms", 12.5),
        nlu_version="nlu-test",
        **extra,
    )
    session.add(turn)
    session.flush()
    return turn


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
