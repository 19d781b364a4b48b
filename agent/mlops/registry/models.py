"""The ``model_versions`` table: one row per trained model, at most one active per kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from agent.storage.models import Base, UTCDateTime, utcnow

KINDS = ("nlu", "generator")


class ModelVersion(Base):
    """A trained model: where its files are, what data and config made it, how it scored."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index("ix_model_versions_kind_version", "kind", "version", unique=True),
        # The database itself guarantees one serving model per kind, even if two admins click
        # "promote" at once on two web workers.
        Index(
            "ix_model_versions_active_kind",
            "kind",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "nlu" or "generator".
    kind: Mapped[str] = mapped_column(String(20))
    # The registry's name for it, also its folder name under the model dir and in the store.
    version: Mapped[str] = mapped_column(String(128))
    # What the loaded model reports as ``version``: the value turns record, linking them here.
    served_as: Mapped[str] = mapped_column(String(100), index=True)
    path: Mapped[str] = mapped_column(String(500))
    # The version it was fine-tuned from (None: trained from scratch or imported).
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    data_hash: Mapped[str | None] = mapped_column(String(64))
    data_sizes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The promotion gate's verdict in words ("refused: held-out perplexity 41.2 > 38.0 ...").
    gate: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    promoted_by: Mapped[str | None] = mapped_column(String(100))
    # The version that was serving when this one was promoted: what rollback returns to.
    replaced_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:
        return f"ModelVersion(kind={self.kind!r}, version={self.version!r}, active={self.active!r})"
