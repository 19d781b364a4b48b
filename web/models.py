"""The admin console's own tables (accounts, login throttling, the showcase's stars) and the
indexes its queries need.

Only web reads or writes these; agent/schema.py lists them with the bot's tables, so alembic sees
the whole schema.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agent.storage.models import Base, Conversation, Turn, UTCDateTime, utcnow


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


# A star shows at most this many earlier turns of the thread before its exchange.
MAX_CONTEXT = 3


class Star(Base):
    """A reviewer's pick for the showcase: one exchange (a turn) with up to ``MAX_CONTEXT``
    earlier turns of its thread shown before it (web/showcase/)."""

    __tablename__ = "stars"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One star per turn; deleting the turn (``users forget``) deletes the star with it.
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), unique=True)
    context: Mapped[int] = mapped_column(Integer, default=0)
    # Who starred it, kept as None when that admin account is removed.
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    turn: Mapped[Turn] = relationship()

    def __repr__(self) -> str:
        return f"Star(turn_id={self.turn_id!r}, context={self.context!r})"


# Indexes the admin console needs on the engine's tables, declared here (not in
# agent/storage/models.py) because only the console queries this way; bench/web.py measures
# what they buy.
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
