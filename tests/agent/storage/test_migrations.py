from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from agent.core.pipeline import Agent
from agent.storage import migrate
from agent.storage.db import make_engine
from tests.agent.conftest import SourcedGenerator
from tests.agent.core.test_pipeline import say, turns
from tests.conftest import ROOT

TABLES = {"users", "conversations", "turns", "alembic_version"}


def test_upgrade_creates_schema_and_matches_models(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate.check(engine)  # alembic check: models and migrations agree
    migrate.ensure_current(engine)


def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with pytest.raises(migrate.SchemaOutOfDate, match="run `threadbot db upgrade`"):
        migrate.ensure_current(engine)
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate.check(engine)


def test_turns_outlive_a_downgrade_past_reply_source_and_come_back_without_one(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    say(make_agent(engine, generator=SourcedGenerator()), "order me a pizza")
    migrate.downgrade(engine, "0006")
    assert "reply_source" not in {c["name"] for c in inspect(engine).get_columns("turns")}
    migrate.upgrade(engine)
    (turn,) = turns(engine)
    assert (turn.tier, turn.reply_source) == ("generated", None)  # as for turns logged before


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() > 0


def test_alembic_command_line_uses_threadbot_settings(tmp_path: Path) -> None:
    """`alembic upgrade head`, typed as a user would, migrates the settings' database."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = os.environ | {"THREADBOT_DATABASE_URL": url}
    alembic = Path(sys.executable).with_name("alembic")
    for args in (["upgrade", "head"], ["check"], ["current", "--check-heads"]):
        done = subprocess.run(
            [str(alembic), *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_conversations_and_turns_outlive_a_downgrade_past_follow_ups(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    say(agent, "what is computer vision?")
    say(agent, "where is it used?")
    migrate.downgrade(engine, "0007")
    assert "subject" not in {c["name"] for c in inspect(engine).get_columns("conversations")}
    assert "follow_up" not in {c["name"] for c in inspect(engine).get_columns("turns")}
    migrate.upgrade(engine)
    assert [t.follow_up for t in turns(engine)] == [None, None]  # as for turns logged before
    reply = say(make_agent(engine), "example?")  # the thread's subject went with the column
    assert reply.follow_up is not None and reply.follow_up["answer"] == "asked"
