"""Every timestamp column reads back as an aware UTC datetime, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.storage.models import Conversation, User


def test_moments_are_stored_as_utc_and_read_back_aware(engine: Engine) -> None:
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 11, 30, 9, 30, tzinfo=tokyo)
    with Session(engine) as session, session.begin():
        user = User(channel="test", external_id="kei")
        session.add(Conversation(user=user, state="idle", last_activity=moment))
    with Session(engine) as session:
        read = session.scalars(select(Conversation.last_activity)).one()
        # The column's own type applies to expressions over it too.
        latest = session.scalar(
            select(Conversation.last_activity).where(
                Conversation.last_activity >= datetime(2026, 11, 30, 0, 29)  # naive: taken as UTC
            )
        )
    assert read == moment and read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read.hour == 0 and read.tzinfo == UTC
    assert latest == moment
