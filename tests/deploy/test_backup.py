"""deploy/backup.sh on SQLite: a consistent copy that restores, and only the newest 7 kept."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import ROOT


def test_sqlite_backup_restores_and_rotates(sqlite_engine: Engine, tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed (apt-get install -y sqlite3)")
    database = sqlite_engine.url.database
    assert database
    backups = tmp_path / "backups"
    backups.mkdir()
    for day in range(8):  # older copies, oldest first
        old = backups / f"threadbot-2026010{day}T000000Z.db.gz"
        old.write_bytes(b"old")
        os.utime(old, (1_700_000_000 + day, 1_700_000_000 + day))
    env = {
        "PATH": os.environ["PATH"],
        "THREADBOT_DATABASE_URL": f"sqlite:///{database}",
        "THREADBOT_BACKUP_DIR": str(backups),
    }
    result = subprocess.run(
        [ROOT / "deploy" / "backup.sh"], env=env, capture_output=True, text=True, check=True
    )
    assert "backup.sh: wrote" in result.stdout
    kept = sorted(p.name for p in backups.iterdir())
    assert len(kept) == 7
    assert "threadbot-20260100T000000Z.db.gz" not in kept  # the oldest went
    newest = max(backups.iterdir(), key=lambda p: p.stat().st_mtime)
    restored = tmp_path / "restored.db"
    restored.write_bytes(gzip.decompress(newest.read_bytes()))
    connection = sqlite3.connect(restored)
    try:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        connection.close()
    assert version
