"""An admin's hands on a user: pause the bot, resume, reset the dialogue, undo an opt-out."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agent.storage.models import Conversation, User

ACTIONS = ("pause", "resume", "reset", "opt-in")


class ControlError(ValueError):
    """The action cannot be applied; the message says why."""


def apply(session: Session, user_id: int, action: str, initial_state: str) -> User:
    """Apply ``action`` to the user; the conversation's version bump makes a racing turn retry.

    :raise ControlError: unknown action or user.
    """
    if action not in ACTIONS:
        raise ControlError(f"action must be one of {', '.join(ACTIONS)}")
    user = session.get(User, user_id)
    if user is None:
        raise ControlError(f"no user {user_id}")
    if action == "pause":
        user.paused = True
    elif action == "resume":
        user.paused = False
    elif action == "opt-in":
        user.opted_out = False
    else:
        conv: Conversation | None = user.conversation
        if conv is not None:
            conv.state, conv.slots = initial_state, {}
    session.flush()
    return user
