"""The mention loop end to end: real tweepy against the sandbox over HTTP, real databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.channels.twitter.loop import MentionLoop
from agent.channels.twitter.models import (
    CAPPED,
    DRY_RUN,
    HANDLED,
    POSTED,
    SKIPPED,
    InboxMention,
    MentionCursor,
    OutboxReply,
)
from agent.storage.models import Turn, User
from tests.agent.channels.twitter.helpers import count, replies_by_mention
from xsandbox import SandboxServer

LoopFactory = Callable[..., MentionLoop]


def test_threads_with_several_users_get_one_reply_per_mention_in_thread(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    loop = make_loop(engine)
    alice = world.tweet("alice", "@ada hello")
    bob = world.tweet("bob", "@ada I love robots")
    loop.run_once()
    replies = replies_by_mention(world)
    assert set(replies) == {alice["id"], bob["id"]}
    # Each person answers the bot's reply in the same thread; the bot follows the thread.
    follow_ups = []
    for mention, name, text in ((alice, "alice", "robots"), (bob, "bob", "yes I think so")):
        bot_reply = int(replies[mention["id"]][0])
        assert world.tweets[bot_reply]["conversation_id"] == mention["conversation_id"]
        follow_ups.append(world.tweet(name, text, in_reply_to=bot_reply))
    loop.run_once()
    replies = replies_by_mention(world)
    assert all(len(ids) == 1 for ids in replies.values())
    for follow_up in follow_ups:
        (answer,) = replies[follow_up["id"]]
        assert world.tweets[int(answer)]["conversation_id"] == follow_up["conversation_id"]
    with Session(engine) as session:
        turns = session.scalars(
            select(Turn)
            .join(Turn.conversation)
            .join(User)
            .where(User.external_id == alice["author_id"])
            .order_by(Turn.id)
        ).all()
        assert [t.message_id for t in turns] == [alice["id"], follow_ups[0]["id"]]
        assert turns[0].state_after == turns[1].state_before  # the thread carried the state
        assert all(t.thread_id == alice["conversation_id"] for t in turns)
        cursor = session.get(MentionCursor, world.bot_id)
        assert cursor is not None and cursor.since_id == int(follow_ups[-1]["id"])
        posted = session.scalars(select(OutboxReply)).all()
        assert {o.status for o in posted} == {POSTED}
        assert {o.posted_tweet_id for o in posted} == {i for ids in replies.values() for i in ids}


def test_first_start_answers_only_newer_mentions_unless_backfill(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    old = world.tweet("carol", "@ada hello from before")
    loop = make_loop(sqlite_engine, backfill=False)
    loop.run_once()
    new = world.tweet("carol", "@ada hello again")
    loop.run_once()
    assert set(replies_by_mention(world)) == {new["id"]}
    assert old["id"] not in replies_by_mention(world)


def test_own_tweets_retweets_and_repeat_deliveries_are_not_answered(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    loop = make_loop(sqlite_engine)
    mention = world.tweet("dave", "@ada hello")
    own = world.tweet("ada", "a note to self, @ada")
    retweet = world.retweet("erin", int(mention["id"]))
    world.faults.duplicate_delivery = 1.0  # every page repeats already-seen mentions
    for _ in range(3):
        loop.run_once()
    assert set(replies_by_mention(world)) == {mention["id"]}
    with Session(sqlite_engine) as session:
        status = dict(session.execute(select(InboxMention.tweet_id, InboxMention.reason)).all())
    assert status == {
        int(mention["id"]): None,
        int(own["id"]): "own tweet",
        int(retweet["id"]): "retweet",
    }
    assert world.stats["injected_duplicate_delivery"] >= 2


def test_dry_run_saves_turns_but_posts_nothing(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    world.tweet("frank", "@ada hello")
    make_loop(sqlite_engine, dry_run=True).run_once()
    assert world.bot_replies() == []
    assert count(sqlite_engine, OutboxReply, OutboxReply.status == DRY_RUN) == 1
    assert count(sqlite_engine, Turn) == 1
    assert "requests_post" not in world.stats


def test_hourly_cap_per_user_and_silence_for_opted_out_users(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    loop = make_loop(sqlite_engine, user_replies_per_hour=2)
    for i in range(4):
        world.tweet("gina", f"@ada hello number {i}")
    world.tweet("hank", "@ada hello")
    loop.run_once()
    assert count(sqlite_engine, InboxMention, InboxMention.status == CAPPED) == 2
    assert len(replies_by_mention(world)) == 3
    with Session(sqlite_engine) as session, session.begin():
        user = session.scalars(select(User).where(User.handle == "hank")).one()
        user.opted_out = True
    quiet = world.tweet("hank", "@ada are you there?")
    loop.run_once()
    assert quiet["id"] not in replies_by_mention(world)
    with Session(sqlite_engine) as session:
        row = session.get(InboxMention, int(quiet["id"]))
        assert row is not None and row.status == HANDLED and row.reason
    assert count(sqlite_engine, InboxMention, InboxMention.status == SKIPPED) == 0


def test_hostile_text_is_stored_replaced_and_the_rest_of_the_batch_answered(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    # A lone surrogate travels as a valid JSON escape ("\ud800") but no database can store it.
    odd = world.tweet("mallory", "@ada hi \ud800 \u202etxt.exe\x00 ad\u200dmin")
    fine = world.tweet("trent", "@ada hello")
    make_loop(engine).run_once()
    assert set(replies_by_mention(world)) == {odd["id"], fine["id"]}
    with Session(engine) as session:
        texts = dict(session.execute(select(Turn.message_id, Turn.user_text)).all())
        stored = session.get(InboxMention, int(odd["id"]))
        assert stored is not None and stored.status == HANDLED
    # Replaced, not dropped: the bidi and zero-width characters are data and stay.
    assert texts[odd["id"]] == "@ada hi \ufffd \u202etxt.exe\ufffd ad\u200dmin"
    assert texts[fine["id"]] == "@ada hello"


def test_a_one_request_per_window_tier_is_paced_never_rate_limited(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: Callable[..., MentionLoop]
) -> None:
    """X's lowest tiers allow the mentions timeline one request per 15 minutes: the loop
    reads the window from X's headers and polls once per window, meeting no 429."""
    world = sandbox.state
    world.limits["mentions"], world.window_seconds = 1, 1.0  # one request a (shrunk) window
    loop = make_loop(sqlite_engine)  # poll interval 0.01 s: without pacing, a 429 storm
    runner = threading.Thread(target=loop.run)
    first = world.tweet("amy", "@ada hello")
    runner.start()
    try:
        deadline = time.monotonic() + 5.0
        later = None
        while time.monotonic() < deadline:
            if later is None and time.monotonic() > deadline - 3.5:
                later = world.tweet("bo", "@ada hi")
            time.sleep(0.05)
    finally:
        loop.stop.set()
        runner.join(timeout=10)
    assert later is not None
    assert world.stats.get("rate_limited", 0) == 0
    assert 2 <= world.stats["requests_mentions"] <= 4  # about one per 2 s (window + clock slack)
    assert {first["id"], later["id"]} <= set(replies_by_mention(world))
    budget = loop.api.pacer.budget("GET /2/users/:id/mentions")
    assert budget is not None and budget.limit == 1
