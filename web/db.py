"""One engine and one agent per app; one database session per request, closed at teardown."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import nlu
from agent.core.pipeline import Agent
from agent.core.runtime import build_agent
from agent.settings import Settings
from agent.storage.db import make_engine, make_sessionmaker
from agent.storage.migrate import ensure_current


class Runtime:
    """What the app shares between requests: the engine, the session factory and the agent."""

    def __init__(self, settings: Settings, engine: Engine, agent: Agent | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self._agent = agent
        self._lock = threading.Lock()
        # Small per-process cache for expensive aggregates (the dashboard), keyed by the caller.
        self.cache: dict[object, tuple[float, object]] = {}
        # The dashboard's counts for days that can no longer change (see web.review.stats).
        self.settled_days: dict[Any, Any] = {}

    @property
    def agent_loaded(self) -> bool:
        return self._agent is not None

    def agent(self) -> Agent:
        """The agent, built on first use (loading the models takes a moment)."""
        if self._agent is None:
            with self._lock:
                if self._agent is None:
                    self._agent = build_agent(self.settings, self.engine, watch_models=True)
        return self._agent

    @cached_property
    def intents(self) -> list[str]:
        """Intent names a reviewer may pick when correcting one."""
        return sorted(nlu.load_intents(self.settings.intents_path).intent_names)

    @property
    def states(self) -> list[str]:
        return sorted(self.agent().script.states)


def init_app(app: Flask) -> None:
    """Create the shared runtime; refuse to start on an unmigrated database."""
    settings: Settings = app.config["SETTINGS"]
    engine = app.config.get("ENGINE") or make_engine(settings.database_url)
    ensure_current(engine)
    runtime = Runtime(settings, engine, app.config.get("AGENT"))
    app.extensions["threadbot"] = runtime
    app.teardown_appcontext(close_session)
    if app.config.get("PRELOAD_AGENT", not app.testing):
        # Load models before the first request, so no visitor waits for them.
        runtime.agent()


def runtime() -> Runtime:
    """The current app's runtime."""
    return current_app.extensions["threadbot"]  # type: ignore[no-any-return]


def get_session() -> Session:
    """This request's database session, opened on first use."""
    if "db" not in g:
        g.db = runtime().sessions()
    return g.db  # type: ignore[no-any-return]


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; anything not committed is rolled back."""
    session = g.pop("db", None)
    if session is not None:
        session.close()
