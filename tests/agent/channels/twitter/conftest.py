"""Twitter fixtures: a real sandbox over HTTP, real tweepy, the shipped bot on a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import make_client
from agent.channels.twitter.loop import MentionLoop
from agent.cli import cli
from agent.core.pipeline import Agent
from generator.types import ReplyGenerator
from tests.agent.channels.twitter.helpers import UNLIMITED, fast_config, settings_for
from tests.agent.conftest import make_agent, parser, script  # noqa: F401  (shared fixtures)
from tests.conftest import ROOT
from xsandbox import SandboxServer, SandboxState


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings for a temporary database and the shipped bot, for the CLI's commands."""
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("THREADBOT_DATA_DIR", str(ROOT / "data" / "bot"))
    monkeypatch.setenv("THREADBOT_NLU_MODEL", str(ROOT / "models" / "nlu"))
    monkeypatch.setenv("THREADBOT_GENERATOR_MODEL", str(tmp_path / "no-generator"))
    monkeypatch.setenv("THREADBOT_TWITTER_RECONCILE_GRACE_SECONDS", "0")
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    return monkeypatch


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox with the bot @ada, seeded so injected faults repeat run to run."""
    state = SandboxState(limits=dict(UNLIMITED), seed=7)
    with SandboxServer(state) as server:
        yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> TwitterApi:
    """Real tweepy, aimed at the sandbox."""
    return TwitterApi(make_client(settings_for(sandbox)))


@pytest.fixture
def make_loop(
    make_agent: Callable[..., Agent],  # noqa: F811
    sandbox: SandboxServer,
) -> Callable[..., MentionLoop]:
    """``make_loop(engine, timeout=..., generator=..., **config)``: a loop on ``engine``
    against the sandbox; its bot falls back to ``generator`` (canned lines when None)."""

    def build(
        engine: Engine,
        timeout: float = 2.0,
        generator: ReplyGenerator | None = None,
        **overrides: Any,
    ) -> MentionLoop:
        settings = settings_for(sandbox, twitter_request_timeout_seconds=timeout)
        api = TwitterApi(make_client(settings))
        agent = make_agent(engine, generator=generator)
        return MentionLoop(agent, engine, api, fast_config(sandbox.state.bot_id, **overrides))

    return build
