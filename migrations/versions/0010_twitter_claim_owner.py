"""Loop workers' liveness: a claim on a mention or a reply records which worker holds it, so a
dead worker's claims are taken over as soon as its advisory lock is gone (liveness.py).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("twitter_inbox", "twitter_outbox")


def upgrade() -> None:
    # Nullable: claims taken before this revision keep only their lease.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Neither table is referred to by another, so batch mode's rebuild on SQLite loses nothing.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("claimed_by")
