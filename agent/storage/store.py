"""Data functions for one turn; each takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import Conversation, Turn, User


def get_or_create_conversation(
    session: Session, channel: str, external_id: str, handle: str | None, initial: str
) -> tuple[User, Conversation]:
    """The user's conversation, row-locked on PostgreSQL so concurrent turns queue up.

    A brand-new user is inserted here; if another turn inserts the same user first, the
    unique constraint fails the flush and the agent retries the whole turn.
    """
    row = session.execute(
        select(User, Conversation)
        .join(Conversation, Conversation.user_id == User.id)
        .where(User.channel == channel, User.external_id == external_id)
        .with_for_update(of=Conversation)
    ).one_or_none()
    if row is None:
        user = User(channel=channel, external_id=external_id, handle=handle)
        conversation = Conversation(user=user, state=initial, slots={})
        session.add_all([user, conversation])
        session.flush()
        return user, conversation
    user, conversation = row
    if handle and user.handle != handle:
        user.handle = handle
    return user, conversation


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
