"""What every command and the web app are handed: settings, engine, sessions and the agent.

The composition root (``agent.cli`` for commands, ``web.db`` for the app) makes one
:class:`AppContext`; each part is built on first use, so ``threadbot --help`` or
``threadbot db current`` never loads a model. Commands take it as click's ``ctx.obj``
(:data:`pass_app`), never from module-level singletons.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent.core.pipeline import Agent
from agent.core.runtime import build_agent
from agent.settings import Settings, load_settings
from agent.storage.db import make_engine, make_sessionmaker
from agent.storage.migrate import ensure_current

# Loads the model registry's promoted versions into a new agent and, when asked to watch,
# keeps swapping in newer ones. The registry sits above this module, so the root passes it in.
ServeModels = Callable[[Agent, Settings, bool], object]


class AppContext:
    """Settings, engine, session factory and agent of one process, each built once when needed.

    Any part given to the constructor is used as is (tests pass their own engine or agent).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        engine: Engine | None = None,
        agent: Agent | None = None,
        *,
        serve_models: ServeModels | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._agent = agent
        self._serve_models = serve_models
        self._agent_lock = threading.Lock()

    @cached_property
    def settings(self) -> Settings:
        """The THREADBOT_* settings, read when first needed.

        :raise SettingsError: naming every bad variable.
        """
        return self._settings or load_settings()

    @cached_property
    def engine(self) -> Engine:
        return self._engine or make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a database whose schema is current.

        :raise SchemaOutOfDate: with the command that fixes it.
        """
        ensure_current(self.engine)
        return make_sessionmaker(self.engine)

    @property
    def agent_loaded(self) -> bool:
        return self._agent is not None

    def agent(self, *, watch_models: bool = False) -> Agent:
        """The agent, built on first use (loading the models takes a moment).

        Long-running processes pass ``watch_models`` to swap in newly promoted models as they come.
        """
        if self._agent is None:
            with self._agent_lock:
                if self._agent is None:
                    agent = build_agent(self.settings, self.sessions)
                    if self._serve_models is not None:
                        self._serve_models(agent, self.settings, watch_models)
                    self._agent = agent
        return self._agent


# ``@pass_app`` hands a command the context; a group invoked on its own (as tests do) gets a
# fresh one that serves the settings' model paths.
pass_app = click.make_pass_decorator(AppContext, ensure=True)

# Options of the commands that listen on a port (run, serve, sandbox), written once.
host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)


def port_option(default: int, *, lowest: int = 1, name: str = "--port", help: str = "") -> Any:
    """``--port``-style option; ``lowest=0`` lets the OS pick a free port (tests do)."""
    return click.option(
        name,
        default=default,
        show_default=True,
        type=click.IntRange(lowest, 65535),
        help=help or "Port to listen on.",
    )
