"""Which loop workers are alive, so a dead worker's claims are taken over in seconds.

Claims on mentions and replies carry a lease (``claimed_until``) and the id of the worker that
took them (``claimed_by``). On PostgreSQL each worker holds a session-level advisory lock,
(:data:`NAMESPACE`, its id), on a connection of its own for as long as it runs; the server
drops the lock the moment that connection dies (a SIGKILL, an out-of-memory kill, a lost
instance). A claim is free when its lease has lapsed **or** its worker's lock is gone, so a
crashed worker's mentions wait seconds, not the lease's five minutes, while a live worker's
claims are never taken (it holds its lock). SQLite runs one loop process, whose start frees
every claim (``MentionLoop.recover``); there only the lease counts.

A worker that loses its lock connection (PostgreSQL restarting) takes a new one at its next
pass; meanwhile others may take its claims, which is safe: a turn is saved only while its
mention is pending, and a reply with an attempt counted is searched for on X before any post.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, and_, column, or_, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# The advisory lock namespace of loop workers ("tbtw"); the second key is the worker's id.
NAMESPACE = 0x74627477
_MAX_ID = 2**31 - 1  # a positive int4: pg_locks shows it unchanged as the lock's objid
_LIVE = text(
    "SELECT objid::bigint AS objid FROM pg_locks WHERE locktype = 'advisory' "
    f"AND classid = {NAMESPACE} AND objsubid = 2 AND granted"
).columns(column("objid", BigInteger))


class WorkerLock:
    """This process's liveness as a loop worker: its id, and on PostgreSQL the lock it holds."""

    def __init__(self, engine: Engine, rng: random.Random | None = None) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.rng = rng or random.SystemRandom()
        self.id: int | None = None
        self._connection: Connection | None = None

    def ensure(self) -> int | None:
        """The worker id under which to claim, its lock held (re-taken if its connection
        died); None on SQLite, where claims carry no worker."""
        if not self.postgres:
            return None
        if self._connection is not None:
            if self._alive(self._connection):
                return self.id
            self._connection = None  # its lock went with it
        connection = self.engine.connect()
        while True:
            candidate = self.id or self.rng.randint(1, _MAX_ID)
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": NAMESPACE, "id": candidate}
            ).scalar()
            connection.commit()  # end the implicit transaction; the lock is the session's
            if got:
                self.id, self._connection = candidate, connection
                return candidate
            self.id = None  # taken by another live worker: draw another id

    @staticmethod
    def _alive(connection: Connection) -> bool:
        """Whether the lock's connection still answers; a dead one is discarded."""
        try:
            connection.execute(text("SELECT 1"))
            connection.commit()
        except DBAPIError:
            connection.invalidate()
            connection.close()
            return False
        return True

    def release(self) -> None:
        """Let go of the lock (the loop's end); a dead connection has let go already."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(
                text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": NAMESPACE, "id": self.id}
            )
            connection.commit()
        except SQLAlchemyError:  # a dead connection (DBAPIError) or one awaiting rollback
            connection.invalidate()
        finally:
            connection.close()


def claimable(session: Session, until: Any, by: Any, now: datetime) -> ColumnElement[bool]:
    """The condition for a claim (lease ``until``, worker ``by``) to be free at ``now``: never
    taken, lapsed, or, on PostgreSQL, held by a worker whose lock is gone."""
    free = or_(until.is_(None), until < now)
    if session.get_bind().dialect.name != "postgresql":
        return free
    return or_(free, and_(by.is_not(None), by.not_in(_LIVE)))
