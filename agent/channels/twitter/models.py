"""Tables of the Twitter channel: mentions received, replies to post, and the mention cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agent.storage.models import Base, UTCDateTime, utcnow

# Inbox statuses. pending: to answer; handled: a turn was saved; skipped: never answered (own
# tweet, retweet, rejected text); capped: the user hit the hourly reply cap.
PENDING, HANDLED, SKIPPED, CAPPED = "pending", "handled", "skipped", "capped"
# Outbox statuses beyond pending: posted (id recorded), dry_run, and final refusals from X.
POSTED, DRY_RUN, DUPLICATE = "posted", "dry_run", "duplicate"
FORBIDDEN, FAILED = "forbidden", "failed"
# Replies X refuses because of the mention or its author, not the bot: the tweet was deleted
# or is no longer visible (its author went protected or was suspended; X does not say which),
# the author blocks the bot, or the tweet's reply settings leave the bot out. Final, never
# retried, and no failure of the bot's: kept out of the failure counts and alarms.
VANISHED, BLOCKED, REPLIES_CLOSED = "vanished", "blocked", "replies_closed"
UNDELIVERABLE = (VANISHED, BLOCKED, REPLIES_CLOSED)
# A reply held while X's post cap was spent, then older than THREADBOT_TWITTER_MAX_REPLY_AGE_HOURS
# when posting resumed: the operator chose not to send it.
TOO_LATE = "too_late"


class InboxMention(Base):
    """A mention as received; the tweet id is the key, so seeing it twice changes nothing."""

    __tablename__ = "twitter_inbox"
    __table_args__ = (
        Index("ix_twitter_inbox_status_tweet_id", "status", "tweet_id"),
        Index("ix_twitter_inbox_author_id_tweet_id", "author_id", "tweet_id"),
    )

    # Snowflake ids fit a signed 64-bit integer and sort by time, which orders each user's turns.
    tweet_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_id: Mapped[str] = mapped_column(String(30))
    author_id: Mapped[str] = mapped_column(String(30))
    author_handle: Mapped[str | None] = mapped_column(String(100))
    # The display name, for replies that greet people by name (``{name}`` in the script).
    author_name: Mapped[str | None] = mapped_column(String(100))
    conversation_id: Mapped[str | None] = mapped_column(String(30))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    reason: Mapped[str | None] = mapped_column(String(200))
    # A worker's claim; once it lapses, or its worker's liveness lock is gone (liveness.py),
    # another worker may take the mention.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    turn_id: Mapped[int | None] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"InboxMention(tweet_id={self.tweet_id!r}, status={self.status!r})"


class OutboxReply(Base):
    """A reply to post, written in the turn's transaction; one per mention at most."""

    __tablename__ = "twitter_outbox"
    __table_args__ = (
        Index("ix_twitter_outbox_status_id", "status", "id"),
        # The per-user hourly cap counts a user's recent replies.
        Index("ix_twitter_outbox_author_id_created_at", "author_id", "created_at"),
        # X's duplicate-content rule: has the account used this (normalised) text lately?
        Index("ix_twitter_outbox_account_id_text_key", "account_id", "text_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    account_id: Mapped[str] = mapped_column(String(30))
    author_id: Mapped[str] = mapped_column(String(30))
    conversation_id: Mapped[str | None] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    # sha256 of the normalised text (channels/twitter/window.py); None on rows older than the rule.
    text_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    # Counted before each POST: a row with attempts > 0 may already be on X, so reconcile first.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)  # as on the inbox
    posted_tweet_id: Mapped[str | None] = mapped_column(String(30))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    turn_id: Mapped[int | None] = mapped_column(Integer)

    def __repr__(self) -> str:
        return (
            f"OutboxReply(id={self.id!r}, mention_id={self.mention_id!r}, status={self.status!r})"
        )


class MentionCursor(Base):
    """Per bot account: the newest mention id stored, so polling resumes with since_id."""

    __tablename__ = "twitter_cursors"

    account_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    since_id: Mapped[int | None] = mapped_column(BigInteger)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # X's 24-hour (or monthly) post cap is spent: no worker posts before this time, and the
    # dashboard says so (agent/channels/twitter/pause.py).
    posting_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    posting_pause_reason: Mapped[str | None] = mapped_column(String(100))
    # Gaps the mentions timeline's 800 cap left (loop.py): found, closed through recent search,
    # and the latest that reached past search's 7 days (mentions before then are lost to it).
    gaps_found: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    gaps_closed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unreachable_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"MentionCursor(account_id={self.account_id!r}, since_id={self.since_id!r})"
