"""One engine and one agent per app; one database session per request, closed at teardown."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import nlu
from agent.context import AppContext
from agent.core.pipeline import Agent
from agent.mlops.registry.watcher import serve_models
from agent.settings import Settings
from web.showcase.exchanges import BotIdentity, bot_identity

if TYPE_CHECKING:
    from web.showcase.cards import Fonts


class Runtime:
    """What the app shares between requests: the process's :class:`AppContext` (settings,
    engine, session factory, agent) and the console's small caches."""

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.settings: Settings = context.settings
        self.engine: Engine = context.engine
        self.sessions: sessionmaker[Session] = context.sessions  # refuses an unmigrated schema
        # Small per-process cache for expensive aggregates (the dashboard), keyed by the caller.
        self.cache: dict[object, tuple[float, object]] = {}
        # The dashboard's counts for days that can no longer change (see web.review.stats).
        self.settled_days: dict[Any, Any] = {}

    @property
    def agent_loaded(self) -> bool:
        return self.context.agent_loaded

    def agent(self) -> Agent:
        """The agent, built on first use; it follows the registry's promotions."""
        return self.context.agent(watch_models=True)

    @cached_property
    def intents(self) -> list[str]:
        """Intent names a reviewer may pick when correcting one."""
        return sorted(nlu.load_intents(self.settings.intents_path).intent_names)

    @cached_property
    def bot(self) -> BotIdentity:
        """How showcase cards sign the bot's replies."""
        return bot_identity(self.settings)

    @cached_property
    def card_fonts(self) -> Fonts:
        """The showcase cards' fonts, loaded once: reading them parses the font files."""
        from web.showcase.cards import Fonts

        return Fonts(self.settings.card_emoji_font)

    @property
    def states(self) -> list[str]:
        return sorted(self.agent().script.states)


def init_app(app: Flask) -> None:
    """Create the shared runtime; refuse to start on an unmigrated database."""
    context = AppContext(
        app.config["SETTINGS"],
        app.config.get("ENGINE"),
        app.config.get("AGENT"),
        serve_models=serve_models,
    )
    runtime = Runtime(context)
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
