"""X's daily post cap, played by the sandbox: posting pauses until X's reset with the outbox
intact and in order, one probe per reset window, nothing lost or doubled."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import tweepy
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.channels.twitter.health import loop_health
from agent.channels.twitter.loop import MentionLoop
from agent.channels.twitter.models import PENDING, POSTED, TOO_LATE, InboxMention, OutboxReply
from agent.channels.twitter.pause import MONTHLY, read_pause, spent_cap
from agent.ops.metrics import render
from agent.storage.models import Conversation, User
from tests.agent.channels.twitter.helpers import replies_by_mention
from xsandbox import SandboxServer

LoopFactory = Callable[..., MentionLoop]


def run_until(loop: MentionLoop, done: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the loop did not finish in time"
        loop.run_once()
        time.sleep(0.05)


def test_a_spent_daily_cap_pauses_posting_until_the_reset_then_resumes_in_order(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    world.daily_post_cap, world.daily_cap_seconds = 4, 2.0
    mentions = [world.tweet(f"user{i}", f"@ada hello number {i}") for i in range(10)]
    mentions.append(world.tweet("user0", "@ada and again"))  # one person, two mentions
    loop = make_loop(engine)
    loop.run_once()
    with Session(engine) as session:
        pause = read_pause(session, loop.config.account_id)
        health = loop_health(session)
    assert pause is not None and "24-hour post cap (account)" in pause.reason
    assert pause.until > datetime.now(UTC)
    assert health.paused_now(datetime.now(UTC)) and health.outbox[PENDING] >= 1
    assert len(world.bot_replies()) == 4
    run_until(loop, lambda: len(replies_by_mention(world)) == len(mentions))
    answered = replies_by_mention(world)
    assert all(len(ids) == 1 for ids in answered.values())  # nothing doubled
    assert set(answered) == {m["id"] for m in mentions}  # nothing lost
    # One person's replies in the order of their mentions.
    first, again = answered[mentions[0]["id"]][0], answered[mentions[-1]["id"]][0]
    assert int(first) < int(again)
    # No storm: past the first discovery (up to one refusal per posting thread), one probe
    # per reset window, and every request but those refusals created a reply.
    windows = -(-len(mentions) // 4)
    capped = world.stats.get("daily_capped", 0)
    assert 1 <= capped <= loop.config.post_workers + windows
    assert world.stats["requests_post"] == len(mentions) + capped
    with Session(engine) as session:
        assert read_pause(session, loop.config.account_id) is None  # lifted once X took posts
        statuses = set(session.scalars(select(OutboxReply.status)))
    assert statuses == {POSTED}


def test_an_app_cap_reads_its_own_headers_and_shows_on_metrics(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    world.daily_post_cap, world.daily_cap_seconds, world.daily_cap_scope = 1, 3600.0, "app"
    for i in range(3):
        world.tweet(f"user{i}", f"@ada hi {i}")
    loop = make_loop(sqlite_engine)
    loop.run_once()
    # The replies in flight together in the first pass may each meet the cap (one refusal
    # per posting thread, as above); later passes hold replies without asking X.
    capped = world.stats["daily_capped"]
    assert 1 <= capped <= 2
    for _ in range(2):
        loop.run_once()
    assert len(world.bot_replies()) == 1
    assert world.stats["daily_capped"] == capped
    exposition = render(sqlite_engine)
    line = next(x for x in exposition.splitlines() if x.startswith("threadbot_twitter_posting"))
    assert 3500 < float(line.split()[-1]) <= 3601
    with Session(sqlite_engine) as session:
        pause = read_pause(session, loop.config.account_id)
        pending = session.scalars(select(OutboxReply).where(OutboxReply.status == PENDING)).all()
    assert pause is not None and "(app)" in pause.reason
    # Held, not half-posted: no attempt counted, so posting later needs no reconcile search.
    assert [(row.attempts, row.claimed_until) for row in pending] == [(0, None)] * 2


def test_held_replies_past_the_operators_age_are_not_sent_and_the_thread_rewinds(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    world.daily_post_cap, world.daily_cap_seconds = 1, 1.5
    world.tweet("amy", "@ada hello")
    world.tweet("bo", "@ada hello")
    loop = make_loop(sqlite_engine, max_reply_age=timedelta(seconds=1))
    loop.run_once()
    with Session(sqlite_engine) as session:
        held = session.scalars(select(OutboxReply).where(OutboxReply.status == PENDING)).one()
        author = held.author_id
    run_until(
        loop,
        lambda: (
            Session(sqlite_engine).scalar(
                select(OutboxReply.status).where(OutboxReply.author_id == author)
            )
            == TOO_LATE
        ),
    )
    assert len(world.bot_replies()) == 1
    with Session(sqlite_engine) as session:
        row = session.scalars(select(OutboxReply).where(OutboxReply.author_id == author)).one()
        conversation = session.scalars(
            select(Conversation).join(User).where(User.external_id == author)
        ).one()
        mention = session.get_one(InboxMention, row.mention_id)
    assert "THREADBOT_TWITTER_MAX_REPLY_AGE_HOURS" in (row.error or "")
    assert (conversation.state, conversation.last_reply) == ("idle", None)  # as if unsaid
    assert mention.status == "handled"  # the turn stays logged; only the reply was not sent


class _Answer:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers, self.status_code, self.reason = headers, 429, "Too Many Requests"

    def json(self) -> dict[str, object]:
        return {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap"}


YEAR_2100 = "4102444800"
USER, APP = "x-user-limit-24hour", "x-app-limit-24hour"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "9"}, None),  # the 15-minute one
        ({f"{USER}-remaining": "0", f"{USER}-reset": YEAR_2100}, "account"),
        ({f"{APP}-remaining": "0", f"{APP}-reset": YEAR_2100}, "app"),
        ({f"{USER}-remaining": "3", f"{USER}-reset": YEAR_2100}, None),
        ({f"{USER}-remaining": "0", f"{USER}-reset": "soon"}, None),
    ],
)
def test_which_429s_are_a_spent_post_cap(headers: dict[str, str], reason: str | None) -> None:
    exc = tweepy.TooManyRequests(_Answer(headers))  # type: ignore[arg-type]
    exc.api_messages = []
    found = spent_cap(exc)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found.reason
        assert found.until == datetime(2100, 1, 1, tzinfo=UTC)


def test_a_monthly_usage_cap_lasts_until_the_first_of_next_month() -> None:
    exc = tweepy.TooManyRequests(_Answer({}))  # type: ignore[arg-type]
    found = spent_cap(exc)
    assert found is not None and found.reason == MONTHLY
    now = datetime.now(UTC)
    assert found.until > now and found.until.day == 1 and found.until - now <= timedelta(days=31)
