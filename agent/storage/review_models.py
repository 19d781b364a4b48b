"""Reviewers' marks on turns: annotations, which retraining reads (agent/mlops/retrain/), and
stars, which the showcase reads (web/showcase/).

The admin console's own tables (accounts, login throttling) are web's: web/models.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agent.storage.models import Base, Turn, UTCDateTime, utcnow

VERDICTS = ("good", "bad")
# A star shows at most this many earlier turns of the thread before its exchange.
MAX_CONTEXT = 3


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
    # Kept when the admin account is removed: the mark is still valid training data. A foreign
    # key by name to web's table; agent/schema.py puts both in the metadata alembic compares.
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    turn: Mapped[Turn] = relationship()

    def __repr__(self) -> str:
        return (
            f"Annotation(turn_id={self.turn_id!r}, verdict={self.verdict!r}, "
            f"approved={self.approved!r})"
        )


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
