"""X's post caps: the mention cursor keeps until when posting is paused, and why, so every
worker, the dashboard and /metrics see it.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: no pause until X says its cap is spent.
    with op.batch_alter_table("twitter_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("posting_paused_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("posting_pause_reason", sa.String(length=100), nullable=True)
        )


def downgrade() -> None:
    # No other table refers to the cursors, so batch mode's rebuild on SQLite loses nothing.
    with op.batch_alter_table("twitter_cursors", schema=None) as batch_op:
        batch_op.drop_column("posting_pause_reason")
        batch_op.drop_column("posting_paused_until")
