"""Faults from X: rate limits, outages, lost answers, refusals, bad credentials, and crashes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from agent.channels.twitter import inbox
from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.health import loop_health
from agent.channels.twitter.loop import MentionLoop
from agent.channels.twitter.models import (
    BLOCKED,
    DUPLICATE,
    FORBIDDEN,
    HANDLED,
    PENDING,
    POSTED,
    REPLIES_CLOSED,
    VANISHED,
    InboxMention,
    OutboxReply,
)
from agent.channels.twitter.outbox import MAX_DUPLICATE_SWITCHES
from agent.channels.twitter.retry import CredentialsRejected, Retrier, RetryPolicy
from agent.storage.models import Turn
from tests.agent.channels.twitter.helpers import answer_polled, count, replies_by_mention
from xsandbox import SandboxServer
from xsandbox.state import BLOCKED as BLOCKED_DETAIL
from xsandbox.state import DUPLICATE as DUPLICATE_DETAIL
from xsandbox.state import NOT_MENTIONED, NOT_VISIBLE, SandboxState

LoopFactory = Callable[..., MentionLoop]


def test_rate_limit_waits_for_the_reset_instead_of_spinning(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    world.limits["post"] = 2
    world.window_seconds = 0.6
    for i in range(5):
        world.tweet(f"user{i}", "@ada hello")
    loop = make_loop(sqlite_engine, post_workers=1)
    started = time.monotonic()
    loop.run_once()
    assert len(replies_by_mention(world)) == 5
    # Five posts through a 2-per-window limit: two waits for a reset, and only a few 429s.
    assert time.monotonic() - started >= 0.6
    assert world.stats["rate_limited"] <= 4


def test_429_without_reset_header_waits_the_default(
    api: TwitterApi, sandbox: SandboxServer
) -> None:
    world = sandbox.state
    world.faults.update({"rate_limited": 1.0, "omit_reset_header": True})
    stop = threading.Event()
    retrier = Retrier(RetryPolicy(backoff_base=0.001, rate_limit_wait=0.15), stop)

    def lift_after_two_refusals() -> None:
        while world.stats.get("injected_rate_limited", 0) < 2:
            time.sleep(0.005)
        world.faults.update({"rate_limited": 0.0})

    lifter = threading.Thread(target=lift_after_two_refusals)
    lifter.start()
    started = time.monotonic()
    _, name = retrier.call("users/me", api.me)
    lifter.join()
    assert name == "ada"
    assert retrier.waited >= 0.3 and time.monotonic() - started >= 0.3
    # One request per 0.15 s wait, however busy the machine: no spinning.
    assert world.stats["requests_me"] <= retrier.waited / 0.15 + 1


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    retrier = Retrier(RetryPolicy(backoff_base=1.0, backoff_max=30.0), threading.Event())
    delays = [retrier.backoff(n) for n in range(8)]
    assert 0.5 <= delays[0] <= 1.0 and 4.0 <= delays[3] <= 8.0
    assert all(15.0 <= d <= 30.0 for d in delays[5:])
    assert len({round(d, 6) for d in delays}) == len(delays)


def _refused_every_time(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory, detail: str
) -> tuple[OutboxReply, list[str]]:
    """X answers every post to one mention with a 403 and ``detail``: the outbox row, and the
    reply options its turn ended with."""
    world = sandbox.state
    mention = world.tweet("ivy", "@ada hello")
    world.refuse[int(mention["id"])] = detail
    loop = make_loop(engine)
    for _ in range(3):
        loop.run_once()
    with Session(engine) as session:
        row = session.scalars(select(OutboxReply)).one()
        options = [o["text"] for o in session.get_one(Turn, row.turn_id).reply_options]
    return row, options


def test_403_not_allowed_to_reply_is_recorded_not_retried(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    row, _ = _refused_every_time(sqlite_engine, sandbox, make_loop, NOT_MENTIONED)
    assert sandbox.state.stats["requests_post"] == 1
    assert (row.status, row.error) == (REPLIES_CLOSED, NOT_MENTIONED)


def test_any_other_403_is_a_failure_to_look_into(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    detail = "Your account is temporarily locked."
    row, _ = _refused_every_time(sqlite_engine, sandbox, make_loop, detail)
    assert (row.status, row.error) == (FORBIDDEN, detail)
    with Session(sqlite_engine) as session:
        health = loop_health(session)
    assert (health.failed_replies, health.undeliverable_replies) == (1, 0)


def _delete(world: SandboxState, tweet: dict[str, Any]) -> None:
    world.delete(int(tweet["id"]))


def _set(**standing: bool) -> Callable[[SandboxState, dict[str, Any]], None]:
    def change(world: SandboxState, tweet: dict[str, Any]) -> None:
        world.set_user(world.users[tweet["author_id"]]["username"], **standing)

    return change


@pytest.mark.parametrize(
    ("change", "settings", "status", "detail"),
    [
        (_delete, "everyone", VANISHED, NOT_VISIBLE),
        (_set(protected=True), "everyone", VANISHED, NOT_VISIBLE),
        (_set(suspended=True), "everyone", VANISHED, NOT_VISIBLE),
        (_set(blocks_bot=True), "everyone", BLOCKED, BLOCKED_DETAIL),
        (None, "following", REPLIES_CLOSED, NOT_MENTIONED),
    ],
    ids=["deleted", "protected", "suspended", "blocks the bot", "replies closed"],
)
def test_a_mention_that_vanished_or_refuses_replies_is_recorded_never_retried_nor_failed(
    sqlite_engine: Engine,
    sandbox: SandboxServer,
    make_loop: LoopFactory,
    change: Callable[[SandboxState, dict[str, Any]], None] | None,
    settings: str,
    status: str,
    detail: str,
) -> None:
    world = sandbox.state
    mention = world.tweet("ivy", "@ada hello", reply_settings=settings)
    loop = make_loop(sqlite_engine)
    assert loop.poll() == 1
    if change is not None:  # between the poll and the reply, as people do
        change(world, mention)
    for _ in range(3):
        loop.run_once()
    with Session(sqlite_engine) as session:
        row = session.scalars(select(OutboxReply)).one()
        health = loop_health(session)
    assert world.stats["requests_post"] == 1  # never retried
    assert (row.status, row.error, row.posted_tweet_id) == (status, detail, None)
    assert (health.failed_replies, health.undeliverable_replies) == (0, 1)
    assert world.bot_replies() == []


def test_a_mention_deleted_before_the_poll_is_never_seen(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    world.delete(int(world.tweet("ivy", "@ada hello")["id"]))
    world.set_user("quinn", protected=True)
    world.tweet("quinn", "@ada psst")
    kept = world.tweet("rae", "@ada hi")
    loop = make_loop(sqlite_engine)
    loop.run_once()
    assert [t["in_reply_to_user_id"] for t in world.bot_replies()] == [kept["author_id"]]


def test_403_duplicate_every_time_gives_up_after_the_switch_limit(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    """If X kept refusing whatever we send, the loop must stop trying, not spin."""
    row, options = _refused_every_time(sqlite_engine, sandbox, make_loop, DUPLICATE_DETAIL)
    assert sandbox.state.stats["requests_post"] == MAX_DUPLICATE_SWITCHES + 1
    assert (row.status, row.error) == (DUPLICATE, DUPLICATE_DETAIL)
    assert row.attempts == MAX_DUPLICATE_SWITCHES + 1 and row.text in options


def test_401_stops_the_loop_with_a_credentials_message(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    sandbox.state.credentials = dict(sandbox.state.credentials, access_token="revoked")
    loop = make_loop(sqlite_engine)
    with pytest.raises(CredentialsRejected, match="check THREADBOT_TWITTER_"):
        loop.run()


def test_outages_and_lost_answers_still_give_exactly_one_reply(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    for i in range(30):
        world.tweet(f"user{i % 6}", f"@ada hello number {i}")
    world.faults.update(
        {"server_error": 0.15, "drop": 0.1, "slow": 0.1, "slow_seconds": 0.3, "rate_limited": 0.1}
    )
    loop = make_loop(engine, timeout=0.15)
    for _ in range(20):
        loop.run_once()
        if count(engine, OutboxReply, OutboxReply.status == POSTED) == 30:
            break
    replies = replies_by_mention(world)
    assert len(replies) == 30 and all(len(ids) == 1 for ids in replies.values())
    assert count(engine, OutboxReply, OutboxReply.status == PENDING) == 0
    # Which kinds fire depends on how the post threads interleave; the 1,000-mention test
    # checks every kind. Here: enough faults happened to matter.
    assert sum(v for k, v in world.stats.items() if k.startswith("injected_")) >= 5


def test_crash_between_post_and_record_is_reconciled_not_reposted(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory, api: TwitterApi
) -> None:
    """The reply reached X but the process died before recording its id."""
    world = sandbox.state
    posted = world.tweet("jack", "@ada hello")
    unsent = world.tweet("kate", "@ada hello")
    loop = make_loop(sqlite_engine)
    loop.poll()
    jobs = answer_polled(loop)
    # jack's reply goes out; then the "crash": neither row records anything.
    api.post_reply(jobs[int(posted["id"])].text, int(posted["id"]))
    fresh = make_loop(sqlite_engine)
    fresh_run_once(fresh)
    replies = replies_by_mention(world)
    assert len(replies[posted["id"]]) == 1 and len(replies[unsent["id"]]) == 1
    with Session(sqlite_engine) as session:
        rows = {o.mention_id: o for o in session.scalars(select(OutboxReply))}
    assert rows[int(posted["id"])].posted_tweet_id == replies[posted["id"]][0]
    assert {o.status for o in rows.values()} == {POSTED}
    assert world.stats["requests_search"] == 2  # both rows were unsure, both were searched
    assert count(sqlite_engine, InboxMention, InboxMention.status == HANDLED) == 2


def fresh_run_once(loop: MentionLoop) -> None:
    """What a restarted process does first: free a dead run's claims, then one pass."""
    with loop.sessions.begin() as session:
        inbox.release_claims(session, loop.config.account_id)
        session.execute(update(OutboxReply).values(claimed_until=None))
    loop.run_once()
