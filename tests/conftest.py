"""Fixtures shared by every package's tests: real databases, migrated by the real migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.scratch_db import TEST_POSTGRES_URL, postgres_schema, sqlite_database

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
POSTGRES_URL = TEST_POSTGRES_URL


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
    with sqlite_database(tmp_path / "threadbot.db") as engine:
        yield engine


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A fresh, migrated schema in the test PostgreSQL database, dropped afterwards."""
    if _POSTGRES_MISSING:
        if os.environ.get("THREADBOT_REQUIRE_POSTGRES"):
            pytest.fail(_POSTGRES_MISSING)
        pytest.skip(_POSTGRES_MISSING)
    with postgres_schema() as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


def run_cli(*args: str, input: str | None = None) -> tuple[int, str]:
    """Run ``threadbot ARGS`` in process; its exit code and everything it printed."""
    from click.testing import CliRunner

    from agent.cli import cli

    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings are read from this test's environment, and again after it.

    The CLI builds its context per invocation; the web app reads the process-wide settings.
    """
    from agent.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
