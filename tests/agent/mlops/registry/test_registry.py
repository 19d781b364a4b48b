"""Registry data functions on SQLite and PostgreSQL: register, promote, roll back, one active."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.core.pipeline import Agent
from agent.mlops.registry.models import ModelVersion
from agent.mlops.registry.versions import (
    RegistryError,
    active_version,
    active_versions,
    next_version,
    promote,
    register,
    require_version,
    rollback,
)
from agent.mlops.registry.watcher import ModelWatcher
from agent.storage.db import make_sessionmaker
from tests.conftest import ROOT


def _add(session: Session, kind: str = "generator") -> ModelVersion:
    version = next_version(session, kind)
    return register(session, kind, version, served_as=f"{kind}@{version}", path=f"/m/{version}")


def test_promote_and_roll_back_walk_the_history(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        v1, v2, v3 = _add(session), _add(session), _add(session)
        assert [v.version for v in (v1, v2, v3)] == [f"generator-000{n}" for n in (1, 2, 3)]
        assert active_version(session, "generator") is None
        assert promote(session, v1, "alice") is None
        assert promote(session, v2, "bob") == v1
        assert promote(session, v3, "carol") == v2
        assert active_versions(session) == {"generator": v3}
        with pytest.raises(RegistryError, match="already active"):
            promote(session, v3, "carol")
    with sessions.begin() as session:
        assert rollback(session, "generator", "dave").version == "generator-0002"
        assert rollback(session, "generator", "dave").version == "generator-0001"
        with pytest.raises(RegistryError, match="nothing to roll back to"):
            rollback(session, "generator", "dave")
        row = require_version(session, "generator", "generator-0001")
        assert row.active and row.promoted_by == "dave (rollback)"
        with pytest.raises(RegistryError, match="nothing to roll back"):
            rollback(session, "nlu", "dave")
        with pytest.raises(RegistryError, match="known: generator-0001"):
            require_version(session, "generator", "generator-0009")
        with pytest.raises(RegistryError, match="unknown model kind"):
            next_version(session, "tokenizer")
        with pytest.raises(RegistryError, match="already registered"):
            register(session, "generator", "generator-0001", served_as="x", path="/x")


def test_the_database_allows_one_active_version_per_kind(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        first, second, nlu = _add(session), _add(session), _add(session, "nlu")
        promote(session, first, "alice")
        promote(session, nlu, "alice")  # another kind may be active beside it
    with pytest.raises(IntegrityError), sessions.begin() as session:
        # What two racing promotes would do without the lock: the index refuses the second.
        session.execute(
            update(ModelVersion).where(ModelVersion.id == second.id).values(active=True)
        )


def test_watcher_keeps_serving_when_a_version_cannot_load(
    sqlite_engine: Engine,
    tmp_path: Path,
    make_agent: Callable[..., Agent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sessions = make_sessionmaker(sqlite_engine)
    agent = make_agent(sqlite_engine)
    serving = agent.parser
    with sessions.begin() as session:
        row = register(session, "nlu", "nlu-0001", served_as="nlu@x", path=tmp_path / "gone")
        promote(session, row, "alice")
    watcher = ModelWatcher(agent, sessions, interval=60, model_dir=tmp_path / "models")
    with caplog.at_level(logging.ERROR):
        assert watcher.poll_once() == []
    assert "could not load nlu nlu-0001" in caplog.text
    assert "no model store is set" in caplog.text
    assert agent.parser is serving
    caplog.clear()
    assert watcher.poll_once() == []  # a broken version is reported once, not every poll
    assert caplog.text == ""

    # Files restored and the version promoted anew: the watcher tries again, and loads it once.
    shutil.copytree(ROOT / "models" / "nlu", tmp_path / "gone")
    with sessions.begin() as session:
        other = register(session, "nlu", "nlu-0002", served_as=serving.version, path="/m/2")
        promote(session, other, "alice")
        promote(session, require_version(session, "nlu", "nlu-0001"), "alice")
    assert watcher.poll_once() == ["nlu"]
    assert agent.parser is not serving and agent.parser.version == serving.version
    assert watcher.poll_once() == []  # its served_as ("nlu@x") is wrong, yet it is not reloaded
