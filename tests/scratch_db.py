"""Throw-away databases for tests and benchmarks: migrated on entry, removed on exit."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from agent.storage import migrate
from agent.storage.db import make_engine

# Where tests and benchmarks find PostgreSQL; .ci/run sets it, this default suits the dev machines.
TEST_POSTGRES_URL = os.environ.get(
    "THREADBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
).replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def sqlite_database(path: Path, **engine_kwargs: Any) -> Iterator[Engine]:
    """A migrated SQLite file at ``path``, disposed of afterwards (the file stays)."""
    engine = make_engine(f"sqlite:///{path}", **engine_kwargs)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_schema(url: str = TEST_POSTGRES_URL, **engine_kwargs: Any) -> Iterator[Engine]:
    """A migrated schema of its own in ``url``'s database, dropped afterwards.

    A schema rather than a rolled-back transaction, so concurrent connections see real commits.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, **engine_kwargs)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def write_locked(path: Path, busy_timeout_ms: int = 20) -> Iterator[Engine]:
    """A migrated SQLite file at ``path`` whose write lock another connection holds until the
    block ends, as a second process mid-write would; the engine yielded gives up on the lock
    after ``busy_timeout_ms`` (the bot waits seconds) so a test sees every attempt fail fast."""

    def give_up_soon(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")

    with sqlite_database(path) as engine:
        event.listen(engine, "connect", give_up_soon)  # after make_engine's own pragmas
        engine.dispose()  # the connection that migrated waits the bot's seconds
        holder = make_engine(f"sqlite:///{path}")
        with holder.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield engine
            finally:
                connection.exec_driver_sql("ROLLBACK")
        holder.dispose()
