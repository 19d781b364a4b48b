"""One mention poller per bot account: a PostgreSQL advisory lock held on its own connection."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def lock_key(account_id: str) -> int:
    """A stable signed 64-bit key for this account's poller lock."""
    digest = hashlib.sha256(f"threadbot.twitter.poller:{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PollerLock:
    """Try to become the account's poller; SQLite supports one poller process, so it always wins.

    The lock lives as long as its session connection: a crashed poller's lock vanishes with it,
    and a waiting process takes over on its next try.
    """

    def __init__(self, engine: Engine, account_id: str) -> None:
        self.engine, self.key = engine, lock_key(account_id)
        self.postgres = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self.held = not self.postgres

    def try_acquire(self) -> bool:
        if self.held:
            return True
        connection = self.engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        connection.commit()  # end the implicit transaction; session-level locks outlive it
        if got:
            self._connection, self.held = connection, True
            log.info("this process is the mention poller")
        else:
            connection.close()
        return bool(got)

    def release(self) -> None:
        """Unlock and close; a dead connection has already released the lock server-side."""
        connection, self._connection = self._connection, None
        self.held = not self.postgres
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            connection.commit()
        except DBAPIError:
            connection.invalidate()
        finally:
            connection.close()
