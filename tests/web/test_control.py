from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import Conversation, User
from tests.web.conftest import AdminActions


def chat(client: FlaskClient, text: str) -> dict[str, object]:
    response = client.post("/api/v1/chat", json={"user": "dee", "text": text})
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_pause_resume_reset_and_undo_opt_out(admin: AdminActions, db: Session) -> None:
    client = admin.client
    chat(client, "hello")
    user = db.scalar(select(User).where(User.external_id == "dee"))
    assert user is not None
    base = f"/admin/users/{user.id}"

    assert admin.post(f"{base}/pause").status_code == 303
    paused = chat(client, "I love robots")
    assert paused["silent"] and paused["tier"] == "silent"
    thread = client.get(f"/admin/conversations/{user.conversation.id}").text
    assert "paused: a person answers" in thread and "Resume bot" in thread

    admin.post(f"{base}/resume")
    assert chat(client, "I love robots")["state"] == "asked_opinion"

    admin.post(f"{base}/reset")
    db.expire_all()
    conv = db.scalar(select(Conversation).where(Conversation.user_id == user.id))
    assert conv is not None and conv.state == "idle" and conv.slots == {}

    chat(client, "stop")
    db.expire_all()
    assert db.get(User, user.id).opted_out  # type: ignore[union-attr]
    assert "Undo opt-out" in client.get(f"/admin/conversations/{conv.id}").text
    admin.post(f"{base}/opt-in")
    db.expire_all()
    assert not db.get(User, user.id).opted_out  # type: ignore[union-attr]
    assert not chat(client, "hello")["silent"]


def test_unknown_control_or_user_is_404(admin: AdminActions) -> None:
    assert admin.post("/admin/users/1/delete").status_code == 404
    assert admin.post("/admin/users/999/pause").status_code == 404
