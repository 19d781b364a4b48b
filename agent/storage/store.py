"""Data functions for one turn; each takes the caller's session and never commits."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from agent.storage.models import Conversation, Turn, User


@dataclass(frozen=True)
class Snapshot:
    """A user's conversation as one read saw it, detached from any session.

    A turn decides against a snapshot with no transaction open; ``version`` then tells the
    write whether another turn moved the conversation meanwhile.
    """

    user_id: int
    handle: str | None
    paused: bool
    opted_out: bool
    conversation_id: int
    version: int
    state: str
    slots: dict[str, Any]
    last_reply: str | None
    subject: str | None
    last_activity: datetime | None


_SNAPSHOT_COLUMNS = (
    User.id,
    User.handle,
    User.paused,
    User.opted_out,
    Conversation.id,
    Conversation.version,
    Conversation.state,
    Conversation.slots,
    Conversation.last_reply,
    Conversation.subject,
    Conversation.last_activity,
)


# Every turn reads and saves a conversation: the statements are built once, with bound
# parameters, so a turn pays neither for building them nor for their cache keys (together
# about a fifth of a scripted turn on SQLite; docs/benchmarks.md, "scripted turn"). They run on
# the session's connection, as Core: they load no objects, and the ORM's per-statement set-up
# took as long as the rest of the read and the save.
_READ = (
    select(*_SNAPSHOT_COLUMNS)
    .join(Conversation, Conversation.user_id == User.id)
    .where(User.channel == bindparam("channel"), User.external_id == bindparam("external_id"))
)
_READ_LOCKED = _READ.with_for_update(of=Conversation)


def read_conversation(
    session: Session, channel: str, external_id: str, *, lock: bool = False
) -> Snapshot | None:
    """The user's conversation, or None for someone new; ``lock`` row-locks it on PostgreSQL
    (``FOR UPDATE``), so the turns of one user write one after another."""
    query = _READ_LOCKED if lock else _READ
    params = {"channel": channel, "external_id": external_id}
    row = session.connection().execute(query, params).one_or_none()
    return None if row is None else Snapshot(*row)


def create_conversation(
    session: Session, channel: str, external_id: str, handle: str | None, initial: str
) -> Snapshot:
    """Insert a new user and their conversation in ``initial``.

    If another turn inserts the same user first, the unique constraint fails the flush
    (``IntegrityError``) and the agent reads theirs instead.
    """
    user = User(channel=channel, external_id=external_id, handle=handle)
    conversation = Conversation(user=user, state=initial, slots={})
    session.add_all([user, conversation])
    session.flush()
    return Snapshot(
        user.id,
        handle,
        False,
        False,
        conversation.id,
        conversation.version,
        initial,
        {},
        None,
        None,
        conversation.last_activity,
    )


def save_conversation(session: Session, read: Snapshot, **values: Any) -> bool:
    """Write ``values`` to the conversation if it is still at ``read.version``, bumping it.

    False: another turn wrote first (only another process can, while the agent holds the row).
    """
    params = {**values, "id_": read.conversation_id, "version_": read.version}
    params["version"] = read.version + 1
    return session.connection().execute(_save(frozenset(values)), params).rowcount == 1


@functools.cache
def _save(columns: frozenset[str]) -> Update:
    """The versioned update of these conversation ``columns`` (a turn writes one of two sets)."""
    return (
        update(Conversation)
        .where(Conversation.id == bindparam("id_"), Conversation.version == bindparam("version_"))
        .values({name: bindparam(name) for name in {"version", *columns}})
        .execution_options(synchronize_session=False)
    )


_INSERT_TURN = insert(Turn)


def insert_turn(session: Session, values: dict[str, Any]) -> int:
    """Insert a turn's row and return its id. Core, not the ORM: a flush of a new ``Turn``
    cost a scripted turn more than the INSERT itself."""
    return int(session.connection().execute(_INSERT_TURN, values).inserted_primary_key[0])


def unsay_turn(session: Session, turn_id: int) -> bool:
    """Put a conversation back as if the bot had not sent ``turn_id``'s reply (a channel gave
    it up): its state before the turn and the reply before it. Only while that turn is the
    conversation's last; True if it was. The version moves, so a turn deciding meanwhile
    decides again. Slots filled by the message stay: the person did say it."""
    turn = session.get(Turn, turn_id)
    if turn is None:
        return False
    last = session.scalar(
        select(func.max(Turn.id)).where(Turn.conversation_id == turn.conversation_id)
    )
    if last != turn.id:
        return False
    before = session.scalar(
        select(Turn.reply_text)
        .where(Turn.conversation_id == turn.conversation_id, Turn.id < turn.id)
        .order_by(Turn.id.desc())
        .limit(1)
    )
    session.execute(
        update(Conversation)
        .where(Conversation.id == turn.conversation_id)
        .values(state=turn.state_before, last_reply=before, version=Conversation.version + 1)
        .execution_options(synchronize_session=False)
    )
    return True


def update_user(session: Session, user_id: int, **values: Any) -> None:
    """Change the user's handle or opt-out flag."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def recent_turns(session: Session, conversation_id: int, limit: int) -> list[Turn]:
    """The last ``limit`` turns of a conversation, oldest first."""
    turns = session.scalars(
        select(Turn)
        .where(Turn.conversation_id == conversation_id)
        .order_by(Turn.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(turns))


def thread_history(earlier: Iterable[tuple[str, str | None]], message: str) -> list[str]:
    """A conversation as the generator reads it, serving and retraining alike: each earlier
    (message, reply) turn oldest first, its reply only where the bot said one, then ``message``."""
    history: list[str] = []
    for said, answer in earlier:
        history += [said, answer] if answer else [said]
    return [*history, message]
