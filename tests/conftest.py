"""Fixtures shared by every package's tests: real databases, migrated by the real migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from agent import migrate
from agent.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
POSTGRES_URL = os.environ.get(
    "THREADBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
).replace("postgresql://", "postgresql+psycopg://", 1)


def _postgres_reason() -> str | None:
    """None when the PostgreSQL server answers, else why the PostgreSQL tests cannot run."""
    try:
        probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as exc:  # any failure to connect means: no server here
        return f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}: {str(exc).strip()[:120]})"
    return None


_POSTGRES_MISSING = _postgres_reason()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite file per test."""
    engine = make_engine(f"sqlite:///{tmp_path / 'threadbot.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A fresh, migrated schema in the test PostgreSQL database, dropped afterwards.

    A schema per test (not a rolled-back transaction) because the concurrency tests need real
    commits seen by other connections.
    """
    if _POSTGRES_MISSING:
        if os.environ.get("THREADBOT_REQUIRE_POSTGRES"):
            pytest.fail(_POSTGRES_MISSING)
        pytest.skip(_POSTGRES_MISSING)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")
