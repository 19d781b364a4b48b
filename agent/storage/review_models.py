"""Reviewers' marks on turns: annotations, which retraining reads (agent/mlops/retrain/).

The admin console's own tables (accounts, login throttling, the showcase's stars) are web's:
web/models.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agent.storage.models import Base, Turn, UTCDateTime, utcnow

VERDICTS = ("good", "bad")


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
