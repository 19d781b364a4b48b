"""Loop health for the admin page: last poll, backlog, and replies posted in the last hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import PENDING, POSTED, InboxMention, MentionCursor, OutboxReply


@dataclass(frozen=True)
class LoopHealth:
    """What the admin page shows about one bot account's mention loop."""

    account_id: str
    last_poll_at: datetime | None
    since_id: int | None
    inbox_pending: int
    outbox_pending: int
    posted_last_hour: int
    # Posts the global token bucket allows per hour (THREADBOT_TWITTER_POSTS_PER_HOUR) minus
    # those made in the last hour: the bucket itself lives in the loop's process.
    posts_left_this_hour: int


def loop_health(session: Session, account_id: str, posts_per_hour: float) -> LoopHealth:
    """Read the loop's state from the database; works from any process."""
    cursor = session.get(MentionCursor, account_id)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    inbox_pending = session.scalar(
        select(func.count()).where(
            InboxMention.account_id == account_id, InboxMention.status == PENDING
        )
    )
    outbox_pending = session.scalar(
        select(func.count()).where(
            OutboxReply.account_id == account_id, OutboxReply.status == PENDING
        )
    )
    posted = session.scalar(
        select(func.count()).where(
            OutboxReply.account_id == account_id,
            OutboxReply.status == POSTED,
            OutboxReply.posted_at > hour_ago,
        )
    )
    last_poll = cursor.last_poll_at if cursor else None
    return LoopHealth(
        account_id=account_id,
        last_poll_at=last_poll,
        since_id=cursor.since_id if cursor else None,
        inbox_pending=inbox_pending or 0,
        outbox_pending=outbox_pending or 0,
        posted_last_hour=posted or 0,
        posts_left_this_hour=max(0, int(posts_per_hour) - (posted or 0)),
    )
