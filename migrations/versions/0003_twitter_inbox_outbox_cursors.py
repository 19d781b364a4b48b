"""Twitter channel: mention inbox (unique tweet id), reply outbox, per-account mention cursor.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twitter_cursors",
        sa.Column("account_id", sa.String(length=30), nullable=False),
        sa.Column("since_id", sa.BigInteger(), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_twitter_cursors")),
    )
    op.create_table(
        "twitter_inbox",
        sa.Column("tweet_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.String(length=30), nullable=False),
        sa.Column("author_id", sa.String(length=30), nullable=False),
        sa.Column("author_handle", sa.String(length=100), nullable=True),
        sa.Column("conversation_id", sa.String(length=30), nullable=True),
        sa.Column("in_reply_to_id", sa.String(length=30), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("tweet_id", name=op.f("pk_twitter_inbox")),
    )
    with op.batch_alter_table("twitter_inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_twitter_inbox_author_id_tweet_id", ["author_id", "tweet_id"], unique=False
        )
        batch_op.create_index(
            "ix_twitter_inbox_status_tweet_id", ["status", "tweet_id"], unique=False
        )

    op.create_table(
        "twitter_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=30), nullable=False),
        sa.Column("author_id", sa.String(length=30), nullable=False),
        sa.Column("conversation_id", sa.String(length=30), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_tweet_id", sa.String(length=30), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twitter_outbox")),
        sa.UniqueConstraint("mention_id", name=op.f("uq_twitter_outbox_mention_id")),
    )
    with op.batch_alter_table("twitter_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_twitter_outbox_author_id_created_at", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_twitter_outbox_status_id", ["status", "id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("twitter_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_twitter_outbox_status_id")
        batch_op.drop_index("ix_twitter_outbox_author_id_created_at")

    op.drop_table("twitter_outbox")
    with op.batch_alter_table("twitter_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_twitter_inbox_status_tweet_id")
        batch_op.drop_index("ix_twitter_inbox_author_id_tweet_id")

    op.drop_table("twitter_inbox")
    op.drop_table("twitter_cursors")
