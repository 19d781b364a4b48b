"""X's duplicate-content rule: each turn keeps its ranked reply options and why its text was
varied; outbox rows carry a key of their normalised text (indexed, so the window check is one
lookup); the inbox keeps the author's display name for ``{name}`` in replies.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from agent.channels.twitter.window import text_key

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_options", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("variation", sa.String(length=300), nullable=True))
    with op.batch_alter_table("twitter_inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_name", sa.String(length=100), nullable=True))
    with op.batch_alter_table("twitter_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_twitter_outbox_account_id_text_key", ["account_id", "text_key"], unique=False
        )
    # Replies already posted or waiting count against the window from the first run on.
    outbox = sa.table(
        "twitter_outbox",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("status", sa.String),
        sa.column("text_key", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.text).where(outbox.c.status.in_(("pending", "posted")))
    ).all()
    for row_id, body in rows:
        connection.execute(
            outbox.update().where(outbox.c.id == row_id).values(text_key=text_key(body))
        )


def downgrade() -> None:
    with op.batch_alter_table("twitter_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_twitter_outbox_account_id_text_key")
        batch_op.drop_column("text_key")
    with op.batch_alter_table("twitter_inbox", schema=None) as batch_op:
        batch_op.drop_column("author_name")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("variation")
        batch_op.drop_column("reply_options")
