"""One mention through the agent: the turn, the inbox status and the outbox row commit together."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.channels.twitter.inbox import Claimed, finish_mention
from agent.channels.twitter.limits import replies_in_last_hour
from agent.channels.twitter.models import (
    CAPPED,
    DRY_RUN,
    HANDLED,
    PENDING,
    SKIPPED,
    InboxMention,
    OutboxReply,
)
from agent.channels.twitter.outbox import Job
from agent.channels.twitter.window import PostedTextWindow, text_key
from agent.core.messages import Incoming, MessageRejected
from agent.core.pipeline import Agent
from agent.storage.models import Turn

log = logging.getLogger(__name__)
CHANNEL = "twitter"


class AlreadyHandled(Exception):
    """Another worker saved a turn for this mention first; ours is rolled back."""


class OverCap(Exception):
    """The author has had their hourly share of replies; the turn is rolled back."""


def handle_mention(
    agent: Agent,
    account_id: str,
    mention: Claimed,
    *,
    user_cap: int,
    dry_run: bool,
    lease: timedelta,
    window: PostedTextWindow,
) -> tuple[str, Job | None]:
    """Answer one claimed mention: the inbox status it ended in, and the reply to post, if any."""
    sessions = agent.sessions
    now = datetime.now(UTC)
    outbox: list[int] = []

    def on_saved(session: Session, turn: Turn) -> None:
        # Locks the inbox row; a worker that lost the race finds it handled and rolls back.
        row = session.scalars(
            select(InboxMention).where(InboxMention.tweet_id == mention.tweet_id).with_for_update()
        ).one()
        if row.status != PENDING:
            raise AlreadyHandled(mention.tweet_id)
        # Checked here, in the turn's transaction, to spare a transaction per mention.
        if (
            turn.reply_text is not None
            and replies_in_last_hour(session, mention.author_id, now) >= user_cap
        ):
            raise OverCap
        row.status, row.turn_id, row.claimed_until = HANDLED, turn.id, None
        if turn.reply_text is None:
            row.reason = "silent (opted out or paused)"
            return
        # Born claimed with one attempt counted: if the process dies before the POST
        # returns, the next run reconciles against X instead of posting blind.
        reply = OutboxReply(
            mention_id=mention.tweet_id,
            account_id=account_id,
            author_id=mention.author_id,
            conversation_id=mention.conversation_id,
            text=turn.reply_text,
            text_key=text_key(turn.reply_text),
            status=DRY_RUN if dry_run else PENDING,
            attempts=0 if dry_run else 1,
            last_attempt_at=None if dry_run else now,
            claimed_until=None if dry_run else now + lease,
            turn_id=turn.id,
        )
        session.add(reply)
        session.flush()
        outbox.append(reply.id)

    incoming = Incoming(
        channel=CHANNEL,
        user_id=mention.author_id,
        text=mention.text,
        handle=mention.author_handle,
        display_name=mention.author_name,
        thread_id=mention.conversation_id,
        message_id=str(mention.tweet_id),
        in_reply_to_id=mention.in_reply_to_id,
        received_at=mention.created_at,
    )
    try:
        reply = agent.handle(incoming, on_saved=on_saved, window=window)
    except MessageRejected as exc:
        with sessions.begin() as session:
            finish_mention(session, mention.tweet_id, SKIPPED, f"rejected: {exc}")
        return SKIPPED, None
    except AlreadyHandled:
        return HANDLED, None
    except OverCap:
        with sessions.begin() as session:
            finish_mention(session, mention.tweet_id, CAPPED, f"over {user_cap} replies/hour")
        log.info("mention %s: @%s is over the hourly cap", mention.tweet_id, mention.author_handle)
        return CAPPED, None
    if dry_run and reply.text is not None:
        log.info("dry run: would reply to %s: %s", mention.tweet_id, reply.text)
    if dry_run or not outbox:
        return HANDLED, None
    job = Job(outbox[-1], mention.tweet_id, mention.conversation_id, reply.text or "", False, now)
    return HANDLED, job
