"""Small helpers for the Twitter tests: settings aimed at a sandbox, fast configs, tallies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from agent.channels.twitter import inbox
from agent.channels.twitter.loop import LoopConfig, MentionLoop
from agent.channels.twitter.outbox import Job
from agent.channels.twitter.retry import RetryPolicy
from agent.channels.twitter.worker import handle_mention
from agent.settings import Settings, load_settings
from xsandbox import SandboxServer, SandboxState

# No real limit should bite unless a test lowers one.
UNLIMITED = {name: 1_000_000 for name in ("mentions", "post", "search", "lookup", "me")}
# Milliseconds instead of seconds: the fault tests stay fast and still take every code path.
FAST_RETRY = RetryPolicy(backoff_base=0.002, backoff_max=0.02, rate_limit_wait=0.05)


def settings_for(server: SandboxServer, **overrides: Any) -> Settings:
    """Settings that point tweepy at ``server`` with the sandbox's built-in keys."""
    values: dict[str, Any] = {
        "twitter_api_base": server.url,
        "twitter_request_timeout_seconds": 2.0,
    }
    return load_settings(**(values | overrides))


def fast_config(account_id: str, **overrides: Any) -> LoopConfig:
    """A loop config with no good-citizen limits in the way and millisecond waits."""
    config = LoopConfig(
        account_id=account_id,
        poll_interval=0.01,
        retry=FAST_RETRY,
        user_replies_per_hour=1_000,
        posts_per_hour=1e9,
        post_burst=10_000,
        reconcile_grace=0.0,
        backfill=True,
    )
    return replace(config, **overrides)


def replies_by_mention(state: SandboxState) -> dict[str, list[str]]:
    """The bot's reply ids per mention id they answer, from the sandbox's own record."""
    out: dict[str, list[str]] = {}
    for tweet in state.bot_replies():
        for ref in tweet.get("referenced_tweets", []):
            if ref["type"] == "replied_to":
                out.setdefault(ref["id"], []).append(tweet["id"])
    return out


def answer_polled(loop: MentionLoop) -> dict[int, Job]:
    """Claim and answer every polled mention as the loop would, without posting: the outbox
    job for each mention id (tests then post, crash or refuse as they need)."""
    account = loop.config.account_id
    with loop.sessions.begin() as session:
        claimed = inbox.claim_mentions(session, account, datetime.now(UTC), loop.config.lease, 50)
    jobs = {}
    for mention in claimed:
        _, job = handle_mention(
            loop.agent,
            account,
            mention,
            user_cap=1000,
            dry_run=False,
            lease=loop.config.lease,
            window=loop.window,
        )
        assert job is not None
        jobs[mention.tweet_id] = job
    return jobs


def count(engine: Engine, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
