"""Many turns from one user at once must never lose a transition or a turn."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.core.messages import Incoming
from agent.core.pipeline import Agent, ConversationBusy
from agent.storage.models import Conversation, Turn
from tests.scratch_db import sqlite_database, write_locked

THREADS = 8
TURNS_PER_THREAD = 15
# Each message moves the conversation, so a lost update would break the chain below.
CYCLE = ["hello", "I'm interested in machine learning", "yes", "restart"]


def test_one_user_hammered_from_threads(engine: Engine, make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(engine)

    def worker(index: int) -> None:
        for k in range(TURNS_PER_THREAD):
            text = CYCLE[(index + k) % len(CYCLE)]
            agent.handle(Incoming(channel="test", user_id="hammer", text=text))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))  # list() re-raises any worker's exception

    with Session(engine) as session:
        logged = list(session.scalars(select(Turn).order_by(Turn.id)))
        conv = session.scalars(select(Conversation)).one()
    assert len(logged) == THREADS * TURNS_PER_THREAD
    assert logged[0].state_before == "idle"
    for before, after in itertools.pairwise(logged):
        assert after.state_before == before.state_after, f"lost transition at turn {after.id}"
    assert conv.state == logged[-1].state_after
    assert conv.version == len(logged) + 1  # one insert, then one versioned update per turn


def test_two_agents_on_one_sqlite_file_retry_instead_of_losing_turns(
    sqlite_engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    """Two agents with their own engines stand in for two processes sharing the file."""
    from agent.storage.db import make_engine

    other_engine = make_engine(sqlite_engine.url.render_as_string(hide_password=False))
    agents = [make_agent(sqlite_engine), make_agent(other_engine)]

    def worker(index: int) -> None:
        for k in range(TURNS_PER_THREAD):
            agents[index % 2].handle(
                Incoming(channel="test", user_id="shared", text=CYCLE[(index + k) % len(CYCLE)])
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    other_engine.dispose()

    with Session(sqlite_engine) as session:
        logged = list(session.scalars(select(Turn).order_by(Turn.id)))
    assert len(logged) == 4 * TURNS_PER_THREAD
    for before, after in itertools.pairwise(logged):
        assert after.state_before == before.state_after


def test_a_conversation_another_process_keeps_writing_is_busy_and_loses_nothing(
    tmp_path: Path, make_agent: Callable[..., Agent]
) -> None:
    with write_locked(tmp_path / "busy.db") as engine:
        agent = make_agent(engine)
        agent.max_attempts = 3
        with pytest.raises(ConversationBusy, match="lost its write 3 times"):
            agent.handle(Incoming(channel="test", user_id="ana", text="hello"))
    # Once the other writer is done, the same message goes through as the first turn.
    with sqlite_database(tmp_path / "busy.db") as engine:
        reply = make_agent(engine).handle(Incoming(channel="test", user_id="ana", text="hello"))
        with Session(engine) as session:
            assert [t.id for t in session.scalars(select(Turn))] == [reply.turn_id]
