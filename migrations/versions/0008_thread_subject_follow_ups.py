"""Follow-ups in threads: the conversation keeps what the thread is about, and a turn read as a
follow-up keeps what it was bound to.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable with no default: a conversation from before has no subject yet (its next
    # message is read on its own), and older turns were never read as follow-ups.
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("follow_up")
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode would rebuild the table: its DROP TABLE deletes every row, and with
        # foreign keys on (as threadbot runs SQLite) every turn cascades away with it. SQLite
        # drops a plain column in place since 3.35.
        op.execute("ALTER TABLE conversations DROP COLUMN subject")
    else:
        op.drop_column("conversations", "subject")
