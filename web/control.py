"""Admin controls on one user: pause the bot, resume it, reset the dialogue, undo an opt-out."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, url_for

from web.auth import guard
from web.db import get_session, runtime
from web.review import control

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
    if action not in control.ACTIONS:
        abort(404, f"Unknown action {action!r}.")
    initial = runtime().agent().script.initial
    try:
        user = control.apply(get_session(), user_id, action, initial)
    except control.ControlError:
        abort(404, f"There is no user {user_id}.")
    conversation_id = user.conversation.id if user.conversation else None
    get_session().commit()
    flash(DONE[action])
    if conversation_id is None:
        return redirect(url_for("admin.conversations"), code=303)
    return redirect(url_for("admin.thread", conversation_id=conversation_id), code=303)
