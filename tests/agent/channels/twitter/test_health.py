"""The loop's health figures, which the admin page and /metrics read."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agent.channels.twitter.health import loop_health
from agent.channels.twitter.loop import MentionLoop
from xsandbox.server import SandboxServer


def test_health_reports_poll_and_backlog(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: Callable[..., MentionLoop]
) -> None:
    world = sandbox.state
    loop = make_loop(sqlite_engine)
    with Session(sqlite_engine) as session:
        empty = loop_health(session)
    assert not empty.configured and empty.last_poll_at is None
    world.tweet("bea", "@ada hello")
    world.tweet("cy", "@ada hello")
    loop.poll()
    with Session(sqlite_engine) as session:
        waiting = loop_health(session)
    assert waiting.configured and waiting.inbox_backlog == 2
    assert waiting.last_poll_at is not None and waiting.last_poll_at.tzinfo is not None
    assert set(waiting.last_polls) == {world.bot_id}
    loop.run_once()
    with Session(sqlite_engine) as session:
        done = loop_health(session)
    assert (done.inbox_backlog, done.outbox_backlog, done.failed_replies) == (0, 0, 0)
    assert done.outbox == {"posted": 2}
