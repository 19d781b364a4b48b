"""One mention through the agent: the turn, the inbox status and the outbox row commit together."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from agent.channels.twitter import inbox
from agent.channels.twitter.models import CAPPED, HANDLED, PENDING, SKIPPED
from agent.channels.twitter.outbox import Job, queue_reply
from agent.channels.twitter.window import PostedTextWindow
from agent.core.messages import Incoming, MessageRejected
from agent.core.pipeline import Agent
from agent.storage.models import Turn

log = logging.getLogger(__name__)


def handle_mention(
    agent: Agent,
    account_id: str,
    mention: Incoming,
    *,
    user_cap: int,
    dry_run: bool,
    lease: timedelta,
    window: PostedTextWindow,
) -> tuple[str, Job | None]:
    """Answer one claimed mention: the inbox status it ended in, and the reply to post, if any."""
    sessions = agent.sessions
    now = datetime.now(UTC)
    # Before any parsing or generating: answered already by another worker, or over the cap.
    with sessions.begin() as session:
        verdict = inbox.verdict(session, mention, user_cap, now)
    if verdict == CAPPED:
        log.info("mention %s: @%s is over the hourly cap", mention.message_id, mention.handle)
    if verdict != PENDING:
        return verdict, None
    jobs: list[Job] = []

    def record(session: Session, turn: Turn) -> bool:
        silent = turn.reply_text is None
        if not inbox.mark_handled(session, mention, turn.id, silent):
            return False  # another worker's turn answered it first
        if not silent:
            job = queue_reply(
                session, account_id, mention, turn, dry_run=dry_run, now=now, lease=lease
            )
            if job is not None:
                jobs.append(job)
        return True

    try:
        reply = agent.answer(mention, record, window)
    except MessageRejected as exc:
        with sessions.begin() as session:
            inbox.finish_mention(session, inbox.tweet_id(mention), SKIPPED, f"rejected: {exc}")
        return SKIPPED, None
    if dry_run and reply is not None and reply.text is not None:
        log.info("dry run: would reply to %s: %s", mention.message_id, reply.text)
    # A write retried after a lost race records again: the last job is the committed one.
    return HANDLED, jobs[-1] if jobs else None
