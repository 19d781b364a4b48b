from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.core.pipeline import Agent
from agent.core.script import DialogueScript
from agent.storage.db import make_sessionmaker
from agent.storage.models import Turn, User
from nlu import IntentParser
from tests.scratch_db import write_locked
from tests.web.conftest import make_app


def chat(client: FlaskClient, text: str, user: str = "ana") -> Any:
    return client.post("/api/v1/chat", json={"user": user, "text": text})


def test_api_answers_on_the_scripted_path(any_app: Flask) -> None:
    client = any_app.test_client()
    first = chat(client, "hello")
    assert first.status_code == 200
    body = first.get_json()
    assert body["tier"] == "scripted"
    assert body["intent"] == "greet"
    assert body["state"] == "asked_topic"
    assert body["reply"] and not body["silent"]
    assert 0 < body["confidence"] <= 1
    assert set(body["stance"]) == {"label", "confidence", "sure"}  # the shipped NLU reads it
    second = chat(client, "I'm interested in machine learning").get_json()
    assert second["state"] == "asked_opinion"
    assert second["turn_id"] > body["turn_id"]
    with any_app.extensions["threadbot"].sessions() as session:
        user = session.scalar(select(User).where(User.external_id == "ana"))
        assert user is not None and user.channel == "web"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "bad_json"),
        ("[1, 2]", 400, "bad_json"),
        ('{"text": "hi"}', 400, "missing_field"),
        ('{"user": "ana"}', 400, "missing_field"),
        ('{"user": 5, "text": "hi"}', 400, "bad_field"),
        ('{"user": "ana", "text": null}', 400, "bad_field"),
        ('{"user": "", "text": "hi"}', 400, "bad_user"),
        ('{"user": "' + "u" * 101 + '", "text": "hi"}', 400, "bad_user"),
        ('{"user": "ana", "text": "   "}', 422, "text_rejected"),
        ('{"user": "ana", "text": "\\u200b\\u200f"}', 422, "text_rejected"),
        ('{"user": "ana", "text": "' + "a" * 10_001 + '"}', 413, "text_too_long"),
        # Valid JSON, but a lone surrogate is no character and cannot be stored.
        ('{"user": "ana", "text": "hi \\ud800"}', 400, "bad_text"),
        ('{"user": "ana", "text": "\\udfff\\ud800"}', 400, "bad_text"),
        ('{"user": "\\ud800", "text": "hi"}', 400, "bad_user"),
        # Deep enough to exhaust the parser's recursion, small enough to pass the size limit.
        ("[" * 40_000 + "]" * 40_000, 400, "bad_json"),
        (
            '{"user": "ana", "text": "hi", "x": ' + '{"a": ' * 8_000 + "1}" + "}" * 8_000,
            400,
            "bad_json",
        ),
    ],
)
def test_api_refuses_bad_input_with_clear_json(
    client: FlaskClient, db: Session, body: str, status: int, code: str
) -> None:
    response = client.post("/api/v1/chat", data=body, content_type="application/json")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["status"] == status and error["message"]
    assert db.scalar(select(func.count()).select_from(Turn)) == 0


def test_api_wants_json_content_type(client: FlaskClient) -> None:
    response = client.post("/api/v1/chat", data={"user": "ana", "text": "hi"})
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]["message"]


def test_api_errors_are_json_for_unknown_routes_and_methods(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.get("/api/v1/chat")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
    assert wrong.get_json()["error"]["status"] == 405


def test_page_keeps_one_conversation_per_browser(client: FlaskClient, app: Flask) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Say hello to start." in page.text
    user = page.text.split('data-user="')[1].split('"')[0]
    assert user.startswith("browser-")
    assert chat(client, "hello", user=user).status_code == 200
    again = client.get("/")  # a reload: same cookie, same conversation, history shown
    assert "hello" in again.text and "Ada" in again.text
    assert again.text.split('data-user="')[1].split('"')[0] == user
    other = app.test_client().get("/")  # another browser starts afresh
    assert "Say hello to start." in other.text


def test_page_form_works_without_javascript(client: FlaskClient) -> None:
    page = client.get("/")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    sent = client.post("/", data={"csrf_token": token, "text": "hello"})
    assert sent.status_code == 303
    assert "hello" in client.get("/").text
    empty = client.post("/", data={"csrf_token": token, "text": "  "}, follow_redirects=True)
    assert "Not sent: message is empty" in empty.text


def test_a_busy_conversation_is_a_503_to_retry_and_a_note_on_the_page(
    tmp_path: Path,
    script: DialogueScript,
    parser: IntentParser,
) -> None:
    with write_locked(tmp_path / "busy.db") as engine:
        agent = Agent(script, parser, None, make_sessionmaker(engine), max_attempts=2)
        client = make_app(engine, agent).test_client()
        busy = chat(client, "hello")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        error = busy.get_json()["error"]
        assert error["code"] == "conversation_busy" and "send the message again" in error["message"]
        token = client.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
        sent = client.post("/", data={"csrf_token": token, "text": "hi"}, follow_redirects=True)
        assert "Not sent: the conversation was busy" in sent.text


def test_page_form_needs_csrf_token(client: FlaskClient, db: Session) -> None:
    client.get("/")
    refused = client.post("/", data={"text": "hello"}, headers={"Accept": "text/html"})
    assert refused.status_code == 400
    assert "<html" in refused.text and "Reload the page" in refused.text
    assert db.scalar(select(func.count()).select_from(Turn)) == 0


def test_huge_body_is_refused_before_parsing(client: FlaskClient) -> None:
    body = '{"user": "ana", "text": "' + "a" * 200_000 + '"}'
    response = client.post("/api/v1/chat", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
