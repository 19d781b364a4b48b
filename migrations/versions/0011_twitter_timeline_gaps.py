"""The mentions timeline's 800 cap: the cursor counts the gaps it left, those closed through
recent search, and when the last one reached past search's seven days.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("twitter_cursors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gaps_found", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("gaps_closed", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("unreachable_before", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    # No other table refers to the cursors, so batch mode's rebuild on SQLite loses nothing.
    with op.batch_alter_table("twitter_cursors", schema=None) as batch_op:
        batch_op.drop_column("unreachable_before")
        batch_op.drop_column("gaps_closed")
        batch_op.drop_column("gaps_found")
