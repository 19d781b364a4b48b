"""Every mapped model, imported in one place so alembic and tests see the whole schema."""

from agent.models import Base, Conversation, Turn, User

# Imported for their tables only. One name each: with `import agent.x.models` lines, ruff saw
# only the last as unused and flagged the others' `noqa` (RUF100), failing `make test`.
from agent.registry import models as registry_models  # noqa: F401  (model versions)
from agent.review import models as review_models  # noqa: F401  (admin accounts, annotations)
from agent.twitter import models as twitter_models  # noqa: F401  (inbox, outbox, cursors)

__all__ = ["Base", "Conversation", "Turn", "User"]
