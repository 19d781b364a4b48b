"""Admin accounts, login throttling and annotations: the review side of the schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agent.storage.models import Base, Conversation, Turn, UTCDateTime, utcnow

VERDICTS = ("good", "bad")


class AdminUser(Base):
    """A person who may use the admin console; only a werkzeug password hash is stored."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"AdminUser(id={self.id!r}, username={self.username!r})"


class LoginFailure(Base):
    """Recent failed logins for one account or one address, kept in the database so every
    web worker sees the same count."""

    __tablename__ = "login_failures"

    # "user:<name>" or "ip:<address>": one table throttles both.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"LoginFailure(key={self.key!r}, failures={self.failures!r})"


class Annotation(Base):
    """A reviewer's marks on one turn; retraining reads the approved ones."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One annotation per turn: the latest review wins, so retraining never sees two answers.
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), unique=True)
    # "good" | "bad" | None (not judged yet).
    verdict: Mapped[str | None] = mapped_column(String(10))
    better_reply: Mapped[str | None] = mapped_column(Text)
    corrected_intent: Mapped[str | None] = mapped_column(String(100))
    approved: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Kept when the admin account is removed: the mark is still valid training data.
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    turn: Mapped[Turn] = relationship()

    def __repr__(self) -> str:
        return (
            f"Annotation(turn_id={self.turn_id!r}, verdict={self.verdict!r}, "
            f"approved={self.approved!r})"
        )


# Indexes the admin console needs on the engine's tables, declared here (not in storage/models.py)
# because only the console queries this way; bench/web.py measures what they buy.
Index("ix_conversations_last_activity", Conversation.last_activity)
# Covers every column the dashboard aggregates, so its scans never touch the wide turn rows.
Index(
    "ix_turns_dashboard",
    Turn.created_at,
    Turn.tier,
    Turn.trusted,
    Turn.intent,
    Turn.latency_ms,
)
