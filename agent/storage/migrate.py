"""alembic, driven from Python: the same migrations `alembic upgrade head` runs, on any engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

# alembic.ini and migrations/ live at the repository root, beside the packages.
ROOT = Path(__file__).resolve().parents[2]


class SchemaOutOfDate(RuntimeError):
    """The database is not at the newest migration; the message says what to run."""


def alembic_config(engine: Engine | None = None) -> Config:
    """The project's alembic config, bound to ``engine`` when one is given."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    if engine is not None:
        config.attributes["url"] = engine.url.render_as_string(hide_password=False)
    return config


def _run(engine: Engine, action: str, *args: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, *args)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate ``engine``'s database up to ``revision``."""
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate ``engine``'s database down to ``revision`` (``base`` empties it)."""
    _run(engine, "downgrade", revision)


def check(engine: Engine) -> None:
    """Raise if the models differ from what the migrations build (``alembic check``)."""
    _run(engine, "check")


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def ensure_current(engine: Engine) -> None:
    """Refuse to serve from a database whose schema is behind the code."""
    current, heads = current_revisions(engine), head_revisions()
    if current != heads:
        found = ", ".join(sorted(current)) or "an empty database"
        raise SchemaOutOfDate(
            f"the database at {engine.url.render_as_string(hide_password=True)} is at {found}, "
            f"not the newest migration ({', '.join(sorted(heads))}): run `threadbot db upgrade`"
        )
