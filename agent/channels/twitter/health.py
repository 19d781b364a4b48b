"""Loop health as the database sees it, from any process: the one query behind the admin
dashboard's Twitter panel and the Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import (
    FAILED,
    FORBIDDEN,
    PENDING,
    UNDELIVERABLE,
    InboxMention,
    MentionCursor,
    OutboxReply,
)

TABLES = {"twitter_inbox", "twitter_outbox", "twitter_cursors"}


@dataclass(frozen=True)
class LoopHealth:
    """Mentions and replies by status, and each bot account's last poll."""

    inbox: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    last_polls: dict[str, datetime] = field(default_factory=dict)
    # Per account, a post-cap pause (agent/channels/twitter/pause.py) as recorded: until, why.
    pauses: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    # Gaps the mentions timeline's cap left, over all accounts: found, closed through search,
    # and the latest time before which mentions were out of search's reach.
    gaps_found: int = 0
    gaps_closed: int = 0
    unreachable_before: datetime | None = None

    def paused_now(self, now: datetime) -> dict[str, tuple[datetime, str]]:
        """The pauses still running at ``now``."""
        return {account: p for account, p in self.pauses.items() if p[0] > now}

    @property
    def configured(self) -> bool:
        """The loop has polled or been handed a mention here."""
        return bool(self.last_polls) or any(self.inbox.values())

    @property
    def last_poll_at(self) -> datetime | None:
        return max(self.last_polls.values(), default=None)

    @property
    def inbox_backlog(self) -> int:
        return self.inbox.get(PENDING, 0)

    @property
    def outbox_backlog(self) -> int:
        return self.outbox.get(PENDING, 0)

    @property
    def failed_replies(self) -> int:
        """Replies X refused for the bot's own doing: what an operator must look into."""
        return self.outbox.get(FAILED, 0) + self.outbox.get(FORBIDDEN, 0)

    @property
    def undeliverable_replies(self) -> int:
        """Replies X refused because of the mention: deleted, hidden, blocked, replies closed."""
        return sum(self.outbox.get(status, 0) for status in UNDELIVERABLE)


def loop_health(db: Session | Connection) -> LoopHealth:
    """Read the loop's state; an empty (not configured) one when the Twitter tables are absent."""
    connection = db.connection() if isinstance(db, Session) else db
    if not set(inspect(connection).get_table_names()) >= TABLES:
        return LoopHealth()
    inbox = db.execute(select(InboxMention.status, func.count()).group_by(InboxMention.status))
    outbox = db.execute(select(OutboxReply.status, func.count()).group_by(OutboxReply.status))
    cursors = db.execute(
        select(
            MentionCursor.account_id,
            MentionCursor.last_poll_at,
            MentionCursor.posting_paused_until,
            MentionCursor.posting_pause_reason,
            MentionCursor.gaps_found,
            MentionCursor.gaps_closed,
            MentionCursor.unreachable_before,
        )
    ).all()
    lost = [row.unreachable_before for row in cursors if row.unreachable_before is not None]
    return LoopHealth(
        inbox={status: count for status, count in inbox},
        outbox={status: count for status, count in outbox},
        last_polls={row.account_id: row.last_poll_at for row in cursors if row.last_poll_at},
        pauses={
            row.account_id: (row.posting_paused_until, row.posting_pause_reason or "X's post cap")
            for row in cursors
            if row.posting_paused_until is not None
        },
        gaps_found=sum(row.gaps_found or 0 for row in cursors),
        gaps_closed=sum(row.gaps_closed or 0 for row in cursors),
        unreachable_before=max(lost, default=None),
    )
