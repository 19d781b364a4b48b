"""Every mapped model, imported in one place so alembic and tests see the whole schema."""

from agent.models import Base, Conversation, Turn, User

__all__ = ["Base", "Conversation", "Turn", "User"]
