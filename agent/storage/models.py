"""SQLAlchemy 2.0 typed models: users, their conversations, and every turn."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints keep alembic migrations deterministic across SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment stored as UTC and always read back timezone-aware.

    PostgreSQL keeps the zone; SQLite stores text without one and hands back naive datetimes.
    Converting on the way in and marking UTC on the way out, here once, spares every reader
    the "is this naive?" patch. A naive value given to it is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person on one channel, e.g. a Twitter account or a web-chat browser."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    handle: Mapped[str | None] = mapped_column(String(100))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by an admin who takes over the conversation; the bot stays silent meanwhile.
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, channel={self.channel!r}, external_id={self.external_id!r})"


class Conversation(Base):
    """A user's place in the dialogue: state, slots and the version guarding concurrent turns."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(100))
    slots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_reply: Mapped[str | None] = mapped_column(Text)
    # What the thread is about, for the next message's follow-ups: an AI topic (the script's
    # follow-up subject slot) or the key phrase of an everyday message ("your puppy").
    subject: Mapped[str | None] = mapped_column(String(200))
    last_activity: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    user: Mapped[User] = relationship(back_populates="conversation")

    # An ORM write of a row another writer moved on raises StaleDataError; the turn itself
    # writes with store.save_conversation, which compares the version in its UPDATE.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r}, state={self.state!r}, version={self.version!r})"


class Turn(Base):
    """One message and the bot's answer, with everything needed to review or retrain from it."""

    __tablename__ = "turns"
    __table_args__ = (
        Index("ix_turns_conversation_id_id", "conversation_id", "id"),
        Index("ix_turns_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_text: Mapped[str] = mapped_column(Text)
    reply_text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float | None] = mapped_column(Float)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    alternatives: Mapped[list[Any]] = mapped_column(default=list)
    entities: Mapped[list[Any]] = mapped_column(default=list)
    slots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state_before: Mapped[str] = mapped_column(String(100))
    state_after: Mapped[str] = mapped_column(String(100))
    # scripted | generated | canned | silent: which tier answered (silent: no reply sent).
    tier: Mapped[str] = mapped_column(String(20))
    # Why the generator's reply was refused, when the canned tier stepped in.
    rejected_reason: Mapped[str | None] = mapped_column(String(50))
    # Every reply the turn could have given, best first ({"text", "source"}): when X refuses the
    # chosen one as a duplicate, the poster moves down this list without running any model.
    reply_options: Mapped[list[Any]] = mapped_column(default=list)
    # Why the reply is not the first option (its text was used lately), for the admin view.
    variation: Mapped[str | None] = mapped_column(String(300))
    # Where a generated reply came from (generator.types.Generated.source, made storable), so a
    # reviewer can see why the fallback said it; None for other tiers and turns before 0007.
    reply_source: Mapped[dict[str, Any] | None] = mapped_column()
    # How the message was read as a follow-up of its thread (agent/core/followup.py
    # Binding.as_json): the kind asked, the subject bound to, and how it was answered; None
    # for messages of their own and turns before 0008.
    follow_up: Mapped[dict[str, Any] | None] = mapped_column()
    # The side the message takes toward the bot's topic (nlu.types.Stance.as_json: label,
    # confidence, sure); None where the NLU model has no stance classifier, and before 0012.
    stance: Mapped[dict[str, Any] | None] = mapped_column()
    session_expired: Mapped[bool] = mapped_column(Boolean, default=False)
    nlu_version: Mapped[str | None] = mapped_column(String(100))
    generator_version: Mapped[str | None] = mapped_column(String(100))
    latency_ms: Mapped[float] = mapped_column(Float)
    thread_id: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[str | None] = mapped_column(String(100))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(100))

    conversation: Mapped[Conversation] = relationship()

    def __repr__(self) -> str:
        return f"Turn(id={self.id!r}, intent={self.intent!r}, tier={self.tier!r})"
