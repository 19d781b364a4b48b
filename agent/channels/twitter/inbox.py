"""Inbox data functions: store mentions once, claim them in order, advance the cursor.

A mention is a ``Mention`` as X sends it (api.py), an ``InboxMention`` row once stored, and,
once a worker claims it, a ``ClaimedMention``: its tweet id and the agent's ``Incoming`` message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from agent.channels.twitter.api import Mention
from agent.channels.twitter.limits import replies_in_last_hour
from agent.channels.twitter.liveness import claimable
from agent.channels.twitter.models import (
    CAPPED,
    HANDLED,
    PENDING,
    SKIPPED,
    InboxMention,
    MentionCursor,
    OutboxReply,
)
from agent.core.messages import Incoming, storable_text

# The channel name on the agent's messages, users and turns from X.
CHANNEL = "twitter"


@dataclass(frozen=True)
class ClaimedMention:
    """A mention this worker holds the lease on, from the claim to its outbox row."""

    tweet_id: int
    message: Incoming  # what the agent answers; its message_id is the tweet id as text


def _skip_reason(mention: Mention, account_id: str) -> str | None:
    if mention.author_id == account_id:
        return "own tweet"
    if mention.is_retweet:
        return "retweet"
    return None


def store_mentions(session: Session, account_id: str, mentions: list[Mention]) -> int:
    """Insert mentions not seen before (the tweet id is unique); how many rows were new."""
    seen = set(
        session.scalars(
            select(InboxMention.tweet_id).where(
                InboxMention.tweet_id.in_([m.tweet_id for m in mentions])
            )
        )
    )
    fresh = {m.tweet_id: m for m in mentions if m.tweet_id not in seen}.values()
    if not fresh:
        return 0
    rows = []
    for m in fresh:
        reason = _skip_reason(m, account_id)
        rows.append(
            {
                "tweet_id": m.tweet_id,
                "account_id": account_id,
                "author_id": m.author_id,
                # Replaced, not refused: one unstorable character must not fail the whole walk.
                "author_handle": m.author_handle and storable_text(m.author_handle),
                "author_name": m.author_name and storable_text(m.author_name),
                "conversation_id": m.conversation_id,
                "in_reply_to_id": m.in_reply_to_id,
                "text": storable_text(m.text),
                "created_at": m.created_at,
                "status": SKIPPED if reason else PENDING,
                "reason": reason,
            }
        )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(InboxMention).on_conflict_do_nothing(index_elements=["tweet_id"])
    # DO NOTHING still guards a race with a second poller (only possible on SQLite, by misuse).
    session.connection().execute(statement, rows)
    return len(rows)


def get_cursor(session: Session, account_id: str) -> MentionCursor | None:
    return session.get(MentionCursor, account_id)


def save_cursor(session: Session, account_id: str, since_id: int | None, now: datetime) -> None:
    """Move the cursor forward only: a late page never rewinds it."""
    cursor = session.get(MentionCursor, account_id, with_for_update=True)
    if cursor is None:
        session.add(MentionCursor(account_id=account_id, since_id=since_id, last_poll_at=now))
        return
    if since_id is not None and (cursor.since_id is None or since_id > cursor.since_id):
        cursor.since_id = since_id
    cursor.last_poll_at = now


def record_gap(
    session: Session, account_id: str, closed: bool, unreachable_before: datetime | None
) -> None:
    """Count a gap the mentions timeline's cap left: closed through search, or reaching past
    search's window (mentions before ``unreachable_before`` can no longer be fetched)."""
    cursor = session.get(MentionCursor, account_id, with_for_update=True)
    if cursor is None:  # the first poll's walk: the cursor is written with it
        cursor = MentionCursor(account_id=account_id, gaps_found=0, gaps_closed=0)
        session.add(cursor)
    cursor.gaps_found = (cursor.gaps_found or 0) + 1
    cursor.gaps_closed = (cursor.gaps_closed or 0) + int(closed)
    if unreachable_before is not None:
        cursor.unreachable_before = unreachable_before


def claim_mentions(
    session: Session,
    account_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    worker: int | None = None,
) -> list[ClaimedMention]:
    """Lease the oldest pending mentions, at most one per user so each user's turns stay in order.

    A user whose last reply is still in the outbox waits until it is posted: replies to one
    person then go out in the order of their mentions, whichever worker or thread posts them.
    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim side by side; a
    lapsed lease, or a claiming ``worker`` that is no longer alive (liveness.py), makes a
    mention claimable again.
    """
    older = aliased(InboxMention)
    earlier_pending = (
        select(older.tweet_id)
        .where(
            older.author_id == InboxMention.author_id,
            older.status == PENDING,
            older.tweet_id < InboxMention.tweet_id,
        )
        .exists()
    )
    reply_posting = (
        select(OutboxReply.id)
        .where(OutboxReply.author_id == InboxMention.author_id, OutboxReply.status == PENDING)
        .exists()
    )
    rows = session.scalars(
        select(InboxMention)
        .where(
            InboxMention.account_id == account_id,
            InboxMention.status == PENDING,
            claimable(session, InboxMention.claimed_until, InboxMention.claimed_by, now),
            ~earlier_pending,
            ~reply_posting,
        )
        .order_by(InboxMention.tweet_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        session.execute(
            update(InboxMention)
            .where(InboxMention.tweet_id.in_([r.tweet_id for r in rows]))
            .values(claimed_until=now + lease, claimed_by=worker)
        )
    return [_claimed(r) for r in rows]


def _claimed(row: InboxMention) -> ClaimedMention:
    message = Incoming(
        channel=CHANNEL,
        user_id=row.author_id,
        text=row.text,
        handle=row.author_handle,
        display_name=row.author_name,
        thread_id=row.conversation_id,
        message_id=str(row.tweet_id),
        in_reply_to_id=row.in_reply_to_id,
        received_at=row.created_at,
    )
    return ClaimedMention(row.tweet_id, message)


def closed_early(
    session: Session, mention: ClaimedMention, user_cap: int, now: datetime
) -> str | None:
    """The status a mention ends in without a turn: HANDLED when another worker's turn has
    answered it, CAPPED when its author had ``user_cap`` replies in the last hour (closed here);
    None: answer it.

    Checked before the agent parses or generates anything for the mention.
    """
    status = session.scalar(
        select(InboxMention.status).where(InboxMention.tweet_id == mention.tweet_id)
    )
    if status != PENDING:
        return HANDLED
    if replies_in_last_hour(session, mention.message.user_id, now) >= user_cap:
        finish_mention(session, mention.tweet_id, CAPPED, f"over {user_cap} replies/hour")
        return CAPPED
    return None


def mark_handled(session: Session, tweet_id: int, turn_id: int, silent: bool) -> bool:
    """Close a mention with the turn that answered it, in that turn's transaction; False when
    another worker's turn closed it first (this one is then not saved)."""
    closed = session.execute(
        update(InboxMention)
        .where(InboxMention.tweet_id == tweet_id, InboxMention.status == PENDING)
        .values(
            status=HANDLED,
            turn_id=turn_id,
            claimed_until=None,
            reason="silent (opted out or paused)" if silent else None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    return closed == 1


def finish_mention(session: Session, tweet_id: int, status: str, reason: str | None) -> None:
    """Close a mention that gets no turn (capped, rejected text)."""
    session.execute(
        update(InboxMention)
        .where(InboxMention.tweet_id == tweet_id, InboxMention.status == PENDING)
        .values(status=status, reason=reason[:200] if reason else None, claimed_until=None)
    )


def release_claims(
    session: Session,
    account_id: str,
    tweet_ids: list[int] | None = None,
    worker: int | None = None,
) -> None:
    """Drop leases: the given mentions' (a graceful stop), a worker's own (what a pass it
    abandoned left), or all of them (a lone SQLite worker)."""
    statement = update(InboxMention).where(
        InboxMention.account_id == account_id, InboxMention.status == PENDING
    )
    if tweet_ids is not None:
        statement = statement.where(InboxMention.tweet_id.in_(tweet_ids))
    if worker is not None:
        statement = statement.where(InboxMention.claimed_by == worker)
    session.execute(statement.values(claimed_until=None, claimed_by=None))
