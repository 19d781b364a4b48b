"""Admin console indexes, measured by bench/web.py: a covering index for the dashboard's scans;
the per-intent and per-tier indexes of 0002 go, since the lists now probe each conversation's
turns through ix_turns_conversation_id_id instead.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_index("ix_turns_intent_conversation_id")
        batch_op.drop_index("ix_turns_tier_conversation_id")
        batch_op.create_index(
            "ix_turns_dashboard",
            ["created_at", "tier", "trusted", "intent", "latency_ms"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_index("ix_turns_dashboard")
        batch_op.create_index(
            "ix_turns_tier_conversation_id", ["tier", "conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_turns_intent_conversation_id", ["intent", "conversation_id"], unique=False
        )
