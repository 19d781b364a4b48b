"""The public chat page (one conversation per browser) and the JSON chat API."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from agent.core.messages import Incoming, MessageRejected, Rejection, Reply
from agent.core.pipeline import ConversationBusy
from agent.storage.models import Conversation, Turn, User
from web.db import get_session, runtime
from web.errors import api_error

bp = Blueprint("chat", __name__)

CHANNEL = "web"
MAX_USER_CHARS = 100  # users.external_id holds 100 characters
HISTORY_TURNS = 50
# The API's answer to each reason the agent refuses a message (agent/core/messages.py);
# any other reason is 422 text_rejected.
REJECTION_STATUS: dict[Rejection, tuple[int, str]] = {
    Rejection.LONE_SURROGATE: (400, "bad_text"),
    Rejection.TOO_LONG: (413, "text_too_long"),
}
BUSY = "the conversation was busy and nothing was saved; send the message again"


def browser_user() -> str:
    """This browser's chat id, kept in the signed session cookie so reloads continue the chat."""
    if "chat_user" not in session:
        session.permanent = True
        session["chat_user"] = "browser-" + secrets.token_urlsafe(12)
    return str(session["chat_user"])


def history(user_id: str) -> list[Turn]:
    """The browser's last turns, oldest first."""
    turns = (
        get_session()
        .scalars(
            select(Turn)
            .join(Conversation, Conversation.id == Turn.conversation_id)
            .join(User, User.id == Conversation.user_id)
            .where(User.channel == CHANNEL, User.external_id == user_id)
            .order_by(Turn.id.desc())
            .limit(HISTORY_TURNS)
        )
        .all()
    )
    return list(reversed(turns))


def reply_json(reply: Reply) -> dict[str, Any]:
    """The API's answer: what was said and how the bot decided."""
    return {
        "reply": reply.text,
        "silent": reply.text is None,
        "intent": reply.intent,
        "confidence": round(reply.confidence, 4),
        "trusted": reply.trusted,
        "state": reply.state,
        "tier": reply.tier,
        "turn_id": reply.turn_id,
        "latency_ms": round(reply.latency_ms, 2),
        "source": reply.source,
        "follow_up": reply.follow_up,
        "stance": reply.stance,
    }


@bp.get("/")
def page() -> str:
    """The chat page, with this browser's conversation so far."""
    user_id = browser_user()
    agent = runtime().agent()
    return render_template(
        "chat.html", turns=history(user_id), bot_name=agent.script.name, user_id=user_id
    )


@bp.post("/")
def send_form() -> Response:
    """The page's form without JavaScript: answer, then show the page again."""
    text = request.form.get("text", "")
    try:
        runtime().agent().handle(Incoming(channel=CHANNEL, user_id=browser_user(), text=text))
    except MessageRejected as exc:
        flash(f"Not sent: {exc}.")
    except ConversationBusy:
        flash(f"Not sent: {BUSY}.")
    return redirect(url_for("chat.page"), code=303)


@bp.post("/api/v1/chat")
def api_chat() -> tuple[Response, int] | Response:
    """``{"user", "text"}`` in; reply, intent, confidence, state, tier and, for a generated
    reply, its source out."""
    if not request.is_json:
        return api_error(
            415, "unsupported_media_type", "send JSON with Content-Type: application/json"
        )
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json's parser recurses once per level of nesting
        return api_error(400, "bad_json", "the JSON is nested too deeply")
    if body is None:
        return api_error(400, "bad_json", "the request body is not valid JSON")
    if not isinstance(body, dict):
        return api_error(
            400, "bad_json", 'the body must be a JSON object: {"user": ..., "text": ...}'
        )
    missing = [name for name in ("user", "text") if name not in body]
    if missing:
        return api_error(400, "missing_field", f"missing field(s): {', '.join(missing)}")
    user, text = body["user"], body["text"]
    if not isinstance(user, str) or not isinstance(text, str):
        return api_error(400, "bad_field", '"user" and "text" must both be strings')
    user = user.strip()
    if not user or len(user) > MAX_USER_CHARS or not user.isprintable():
        return api_error(
            400, "bad_user", f'"user" must be 1 to {MAX_USER_CHARS} printable characters'
        )
    try:
        reply = runtime().agent().handle(Incoming(channel=CHANNEL, user_id=user, text=text))
    except MessageRejected as exc:
        status, code = REJECTION_STATUS.get(exc.reason, (422, "text_rejected"))
        return api_error(status, code, str(exc))
    except ConversationBusy:
        response, status = api_error(503, "conversation_busy", BUSY)
        response.headers["Retry-After"] = "1"
        return response, status
    return jsonify(reply_json(reply))
