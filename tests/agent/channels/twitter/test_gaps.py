"""X's mentions timeline returns only the most recent mentions (800 on X; fewer here, to stay
fast): after an outage the loop finds the gap and fills it through recent search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.channels.twitter import inbox
from agent.channels.twitter.health import loop_health
from agent.channels.twitter.loop import MentionLoop
from agent.channels.twitter.models import MentionCursor
from agent.channels.twitter.search_limits import SNOWFLAKE_EPOCH_MS, snowflake_time
from agent.ops.metrics import render
from tests.agent.channels.twitter.helpers import replies_by_mention
from xsandbox import SandboxServer

LoopFactory = Callable[..., MentionLoop]
CAP = 10


def _capped(sandbox: SandboxServer, make_loop: LoopFactory, engine: Engine) -> MentionLoop:
    sandbox.state.mention_timeline_cap = CAP
    return make_loop(engine, timeline_cap=CAP)


def test_a_gap_past_the_timelines_cap_is_filled_through_search_in_each_users_order(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    loop = _capped(sandbox, make_loop, engine)
    world = sandbox.state
    world.tweet("amy", "@ada hello")
    loop.run_once()  # the cursor now stands at amy's mention
    assert len(world.bot_replies()) == 1
    # An outage: 25 mentions arrive, more than the timeline returns; amy's are spread over
    # both the part the timeline gives and the part only search reaches.
    waiting = [world.tweet("amy" if i % 5 == 0 else f"fan{i}", f"@ada hi #{i}") for i in range(25)]
    waiting.append(
        world.tweet("bo", "just chatting", in_reply_to=int(world.bot_replies()[0]["id"]))
    )
    loop.run_once()
    answered = replies_by_mention(world)
    assert {m["id"] for m in waiting} <= set(answered)
    assert all(len(ids) == 1 for ids in answered.values())
    amy = [int(answered[m["id"]][0]) for m in waiting if m["author_id"] == waiting[0]["author_id"]]
    assert amy == sorted(amy), "amy's replies in the order of her mentions"
    with Session(engine) as session:
        health = loop_health(session)
    assert (health.gaps_found, health.gaps_closed, health.unreachable_before) == (1, 1, None)
    gauges = [x for x in render(engine).splitlines() if x.startswith("threadbot_twitter_timeline")]
    assert gauges == [
        'threadbot_twitter_timeline_gaps{state="found"} 1',
        'threadbot_twitter_timeline_gaps{state="closed"} 1',
    ]


def test_no_gap_no_search(
    sqlite_engine: Engine,
    sandbox: SandboxServer,
    make_loop: LoopFactory,
) -> None:
    loop = _capped(sandbox, make_loop, sqlite_engine)
    world = sandbox.state
    for i in range(CAP - 1):
        world.tweet(f"fan{i}", f"@ada hi {i}")
    loop.run_once()
    assert world.stats.get("requests_search", 0) == 0
    with Session(sqlite_engine) as session:
        assert loop_health(session).gaps_found == 0


def test_a_gap_reaching_past_searchs_seven_days_is_reported_not_silent(
    sqlite_engine: Engine,
    sandbox: SandboxServer,
    make_loop: LoopFactory,
) -> None:
    loop = _capped(sandbox, make_loop, sqlite_engine)
    world = sandbox.state
    old = datetime.now(UTC) - timedelta(days=9)
    since = (int(old.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22
    assert abs((snowflake_time(since) - old).total_seconds()) < 1
    with Session(sqlite_engine) as session, session.begin():
        inbox.save_cursor(session, loop.config.account_id, since, old)
    waiting = [world.tweet(f"fan{i}", f"@ada hi {i}") for i in range(CAP + 5)]
    loop.run_once()
    assert {m["id"] for m in waiting} <= set(replies_by_mention(world))
    with Session(sqlite_engine) as session:
        health = loop_health(session)
        cursor = session.scalars(select(MentionCursor)).one()
    assert (health.gaps_found, health.gaps_closed) == (1, 0)
    assert cursor.unreachable_before is not None
    window = datetime.now(UTC) - timedelta(days=7)
    assert abs((cursor.unreachable_before - window).total_seconds()) < 60


def test_a_tier_without_search_leaves_the_gap_open_and_goes_on(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    loop = _capped(sandbox, make_loop, sqlite_engine)
    world = sandbox.state
    world.search_enabled = False
    waiting = [world.tweet(f"fan{i}", f"@ada hi {i}") for i in range(CAP + 5)]
    loop.run_once()
    answered = replies_by_mention(world)
    assert {m["id"] for m in waiting[-CAP:]} <= set(answered)  # the timeline's newest
    assert len(answered) == CAP
    with Session(sqlite_engine) as session:
        health = loop_health(session)
    assert (health.gaps_found, health.gaps_closed) == (1, 0)
