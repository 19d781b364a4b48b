"""Every mapped model, imported in one place so alembic and tests see the whole schema."""

import agent.registry.models  # noqa: F401  (model_versions: retraining, hot swap)
import agent.review.models  # noqa: F401  (admin accounts, annotations: web/ and retraining)
import agent.twitter.models  # noqa: F401  (mention inbox, reply outbox, cursors)
from agent.models import Base, Conversation, Turn, User

__all__ = ["Base", "Conversation", "Turn", "User"]
