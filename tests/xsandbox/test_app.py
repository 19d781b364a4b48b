"""The sandbox's page, its control API and its answers to bad requests."""

from __future__ import annotations

from xsandbox import SandboxState, create_app


def test_page_and_person_tweets() -> None:
    client = create_app(SandboxState(bot_username="zed")).test_client()
    page = client.get("/")
    assert page.status_code == 200 and b"@zed" in page.data
    made = client.post("/sandbox/tweet", json={"username": "amy", "text": "@zed hi"})
    assert made.status_code == 201
    reply = client.post(
        "/sandbox/tweet",
        json={"username": "amy", "text": "more", "in_reply_to": made.json["id"]},
    )
    assert reply.json["conversation_id"] == made.json["id"]
    world = client.get("/sandbox/world").json
    assert [t["text"] for t in world["tweets"]] == ["@zed hi", "more"]
    bad = client.post("/sandbox/tweet", json={"username": "no spaces", "text": "x"})
    assert bad.status_code == 400 and "user name" in bad.json["error"]


def test_api_needs_auth_and_answers_in_xs_error_shape() -> None:
    client = create_app(SandboxState()).test_client()
    response = client.get("/2/users/me")
    assert response.status_code == 401
    assert response.json == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    assert client.post("/sandbox/faults", json={"server_error": 0.5}).status_code == 200
    assert client.post("/sandbox/faults", json={"meteor": 1}).status_code == 400


def test_json_that_is_not_an_object_or_nested_too_deep_is_a_400_not_a_crash() -> None:
    world = SandboxState(oauth2_token="t0k")
    client = create_app(world).test_client()
    deep = "[" * 100_000 + "]" * 100_000
    auth = {"Authorization": "Bearer t0k", "Content-Type": "application/json"}
    people = {"Content-Type": "application/json"}
    for path, headers in (
        ("/2/tweets", auth),
        ("/sandbox/tweet", people),
        ("/sandbox/faults", people),
        ("/sandbox/delete", people),
        ("/sandbox/user", people),
    ):
        for body in (deep, "[1, 2]", '"text"'):
            response = client.post(path, data=body, headers=headers)
            assert response.status_code == 400, (path, body[:10])
    weird = client.post("/2/tweets", json={"text": ["a"], "reply": "x"}, headers=auth)
    assert weird.status_code == 400 and weird.json["title"] == "Invalid Request"
    assert world.bot_replies() == []


def test_people_delete_tweets_go_protected_suspended_and_block_the_bot() -> None:
    world = SandboxState(bot_username="zed", oauth2_token="t0k")
    client = create_app(world).test_client()
    auth = {"Authorization": "Bearer t0k"}
    made = client.post("/sandbox/tweet", json={"username": "amy", "text": "@zed hi"}).json
    closed = client.post(
        "/sandbox/tweet",
        json={"username": "bo", "text": "@zed yo", "reply_settings": "following"},
    ).json
    assert closed["reply_settings"] == "following"
    bad = client.post(
        "/sandbox/tweet", json={"username": "bo", "text": "x", "reply_settings": "all"}
    )
    assert bad.status_code == 400 and "reply_settings" in bad.json["error"]
    assert client.post("/sandbox/delete", json={"tweet_id": made["id"]}).status_code == 200
    assert client.post("/sandbox/delete", json={"tweet_id": "1"}).status_code == 404
    assert client.get(f"/2/tweets/{made['id']}", headers=auth).status_code == 404
    timeline = client.get(f"/2/users/{world.bot_id}/mentions", headers=auth).json
    assert [t["id"] for t in timeline["data"]] == [closed["id"]]  # the deleted one is gone
    reply = {"text": "hello", "reply": {"in_reply_to_tweet_id": closed["id"]}}
    refused = client.post("/2/tweets", json=reply, headers=auth)
    assert refused.status_code == 403 and "not allowed" in refused.json["detail"]
    ok = client.post("/sandbox/user", json={"username": "bo", "blocks_bot": True})
    assert ok.status_code == 200
    assert (
        client.post("/sandbox/user", json={"username": "bo", "protected": "yes"}).status_code == 400
    )
    assert client.get("/sandbox/world").json["standing"] == {"bo": ["blocks_bot"]}
    assert (
        client.post("/sandbox/user", json={"username": "bo", "suspended": True}).status_code == 200
    )
    hidden = client.get(f"/2/users/{world.bot_id}/mentions", headers=auth).json
    assert hidden == {"meta": {"result_count": 0}}
    assert world.bot_replies() == []
