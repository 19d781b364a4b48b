"""Stance: each turn keeps the side its message takes toward the bot's topic.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: older turns were never read for stance.
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stance", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # As 0008: batch mode would rebuild the table, and the rebuild's DROP TABLE cascades
        # through foreign keys; SQLite drops a plain column in place since 3.35.
        op.execute("ALTER TABLE turns DROP COLUMN stance")
    else:
        op.drop_column("turns", "stance")
