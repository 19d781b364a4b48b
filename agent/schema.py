"""Every mapped model, imported in one place so alembic and tests see the whole schema."""

from agent.channels.twitter import models as twitter_models  # noqa: F401  (inbox, outbox, cursors)

# Imported for their tables only. One name each: with `import agent.x.models` lines, ruff saw
# only the last as unused and flagged the others' `noqa` (RUF100), failing `make test`.
from agent.mlops.registry import models as registry_models  # noqa: F401  (model versions)
from agent.storage import review_models  # noqa: F401  (annotations)
from agent.storage.models import Base, Conversation, Turn, User

# web's own tables (admin accounts, login throttling, stars); web sits on this module's layer.
from web import models as web_models  # noqa: F401

__all__ = ["Base", "Conversation", "Turn", "User"]
