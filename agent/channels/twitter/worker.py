"""One mention through the agent: the turn, the inbox status and the outbox row commit together."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from agent.channels.twitter import inbox
from agent.channels.twitter.models import CAPPED, HANDLED, SKIPPED
from agent.channels.twitter.outbox import Job, queue_reply
from agent.channels.twitter.window import PostedTextWindow
from agent.core.messages import MessageRejected
from agent.core.pipeline import REFUSED, Agent, Refused
from agent.storage.models import Turn

log = logging.getLogger(__name__)


def handle_mention(
    agent: Agent,
    account_id: str,
    mention: inbox.ClaimedMention,
    *,
    user_cap: int,
    dry_run: bool,
    lease: timedelta,
    window: PostedTextWindow,
    worker: int | None = None,
) -> tuple[str, Job | None]:
    """Answer one claimed mention: the inbox status it ended in, and the reply to post, if any."""
    sessions = agent.sessions
    now = datetime.now(UTC)
    # Before any parsing or generating: answered already by another worker, or over the cap.
    with sessions.begin() as session:
        closed = inbox.closed_early(session, mention, user_cap, now)
    if closed == CAPPED:
        log.info("mention %s: @%s is over the hourly cap", mention.tweet_id, mention.message.handle)
    if closed is not None:
        return closed, None

    def record(session: Session, turn: Turn) -> Job | Refused | None:
        silent = turn.reply_text is None
        if not inbox.mark_handled(session, mention.tweet_id, turn.id, silent):
            return REFUSED  # another worker's turn answered it first
        if silent:
            return None
        return queue_reply(
            session, account_id, mention, turn, dry_run=dry_run, now=now, lease=lease, worker=worker
        )

    try:
        answered = agent.answer(mention.message, record, window)
    except MessageRejected as exc:
        with sessions.begin() as session:
            inbox.finish_mention(session, mention.tweet_id, SKIPPED, f"rejected: {exc}")
        return SKIPPED, None
    if answered is None:
        return HANDLED, None
    reply, job = answered
    if dry_run and reply.text is not None:
        log.info("dry run: would reply to %s: %s", mention.tweet_id, reply.text)
    return HANDLED, job
