"""Admin controls on one user: pause the bot, resume it, reset the dialogue, undo an opt-out.

One module for the route and the change it makes (``apply``): they were two, one per layer of
web/, for a change nothing else calls.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, url_for
from sqlalchemy.orm import Session

from agent.storage.models import Conversation, User
from web.auth import guard
from web.db import get_session, runtime

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


bp = guard(Blueprint("control", __name__, url_prefix="/admin"))

DONE = {
    "pause": "Bot paused for this user: a person answers now.",
    "resume": "Bot resumed for this user.",
    "reset": "Conversation reset to the start of the dialogue.",
    "opt-in": "Opt-out undone: the bot may answer this user again.",
}


@bp.post("/users/<int:user_id>/<action>")
def act(user_id: int, action: str) -> Response:
    """Apply one control action, then go back to the thread.

    :raise 404: unknown action or user.
    """
    if action not in ACTIONS:
        abort(404, f"Unknown action {action!r}.")
    initial = runtime().agent().script.initial
    try:
        user = apply(get_session(), user_id, action, initial)
    except ControlError:
        abort(404, f"There is no user {user_id}.")
    conversation_id = user.conversation.id if user.conversation else None
    get_session().commit()
    flash(DONE[action])
    if conversation_id is None:
        return redirect(url_for("admin.conversations"), code=303)
    return redirect(url_for("admin.thread", conversation_id=conversation_id), code=303)
