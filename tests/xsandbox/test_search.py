"""The sandbox's recent search over HTTP with real tweepy: operators, pages, limits, loads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import tweepy

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import make_client
from tests.agent.channels.twitter.helpers import settings_for
from tests.conftest import SHARED_DATA
from xsandbox import SandboxServer
from xsandbox.load import load_threads


def ids(api: TwitterApi, query: str, **params: object) -> list[str]:
    body = api.client.search_recent_tweets(
        query, max_results=100, user_auth=api.user_auth, **params
    )
    return [t["id"] for t in body.get("data", [])]


@pytest.fixture
def world(sandbox: SandboxServer) -> dict[str, str]:
    state = sandbox.state
    root = state.tweet("ann", "Machine learning is eating the world #AI")
    reply = state.tweet("bob", "machine-learning? I prefer knitting", int(root["id"]))
    other = state.tweet("cat", "Learning machine parts at work")
    french = state.tweet("dan", "L'apprentissage automatique, machine learning", lang="fr")
    rt = state.retweet("eve", int(root["id"]))
    return {"root": root["id"], "reply": reply["id"], "other": other["id"], "fr": french["id"],
            "rt": rt["id"]}  # fmt: skip


def test_keywords_phrases_or_negation_and_operators(api: TwitterApi, world: dict[str, str]) -> None:
    w = world
    assert ids(api, "machine learning") == [w["rt"], w["fr"], w["other"], w["reply"], w["root"]]
    assert ids(api, '"machine learning"') == [w["rt"], w["fr"], w["reply"], w["root"]]
    assert ids(api, '"machine learning" -is:retweet lang:en') == [w["reply"], w["root"]]
    assert ids(api, "knitting OR parts") == [w["other"], w["reply"]]
    assert ids(api, "(knitting OR parts) -from:cat") == [w["reply"]]
    assert ids(api, "#ai -is:retweet") == [w["root"]]  # hashtags match as written, any case
    assert ids(api, f"conversation_id:{w['root']} is:reply") == [w["reply"]]
    assert ids(api, f"in_reply_to_tweet_id:{w['root']}") == [w["reply"]]
    assert ids(api, "to:ann -is:retweet") == [w["reply"]]
    assert ids(api, "MACHINE apprentissage") == [w["fr"]]


@pytest.mark.parametrize(
    "query",
    ['"unclosed phrase', "(machine OR", "a OR OR b", "url:example.com", "x" * 600, "()"],
)
def test_queries_x_would_refuse_are_400s_with_a_reason(api: TwitterApi, query: str) -> None:
    with pytest.raises(tweepy.BadRequest) as caught:
        ids(api, query)
    assert caught.value.api_messages


def test_pages_follow_next_token_to_the_end(api: TwitterApi, sandbox: SandboxServer) -> None:
    posted = [sandbox.state.tweet(f"u{i}", f"topic post {i}")["id"] for i in range(25)]
    seen, token = [], None
    while True:
        params = {"next_token": token} if token else {}
        body = api.client.search_recent_tweets(
            "topic", max_results=10, user_auth=api.user_auth, **params
        )
        seen += [t["id"] for t in body["data"]]
        token = body["meta"].get("next_token")
        if token is None:
            break
    assert seen == posted[::-1]
    with pytest.raises(tweepy.BadRequest):
        api.client.search_recent_tweets("topic", next_token="bogus", user_auth=api.user_auth)


def test_search_sends_rate_limit_headers_and_refuses_starts_older_than_a_week(
    api: TwitterApi, sandbox: SandboxServer
) -> None:
    sandbox.state.limits["search"] = 2
    raw = TwitterApi(make_client(settings_for(sandbox))).client
    raw.return_type = requests.Response  # tweepy hands back the response, headers and all
    response = raw.search_recent_tweets("anything", user_auth=True)
    assert response.status_code == 200
    assert response.headers["x-rate-limit-limit"] == "2"
    assert response.headers["x-rate-limit-remaining"] == "1"
    assert int(response.headers["x-rate-limit-reset"]) > datetime.now(UTC).timestamp()
    old = datetime.now(UTC) - timedelta(days=8)
    with pytest.raises(tweepy.BadRequest) as caught:
        api.client.search_recent_tweets("anything", start_time=old, user_auth=api.user_auth)
    assert "start_time" in caught.value.api_messages[0]
    with pytest.raises(tweepy.TooManyRequests):
        ids(api, "anything")


def test_load_posts_threads_from_jsonl_tsv_and_twitter_text(
    api: TwitterApi, sandbox: SandboxServer, tmp_path: Path
) -> None:
    jsonl = tmp_path / "threads.jsonl"
    jsonl.write_text(json.dumps({"turns": ["do robots dream?", "only of sheep", "electric?"]}))
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("is a robot a computer?\tsome are\n")
    txt = tmp_path / "threads.txt"
    txt.write_text("robots again\nyes robots\n\n\n\nunrelated\nsure\n")
    for path in (jsonl, tsv, txt):
        load_threads(sandbox.state, path, prefix=path.suffix[1:])
    found = api.client.search_recent_tweets(
        "robot OR robots", tweet_fields=["conversation_id", "referenced_tweets"],
        user_auth=api.user_auth, max_results=10,
    )["data"]  # fmt: skip
    assert len(found) == 4
    (root,) = [t for t in found if t["text"] == "do robots dream?"]
    thread = ids(api, f"conversation_id:{root['id']}")
    assert len(thread) == 3  # the whole thread, replies chained to their parents


@pytest.mark.skipif(not (SHARED_DATA / "twitter").exists(), reason="../shared/data/twitter absent")
def test_load_the_real_twitter_corpus(api: TwitterApi, sandbox: SandboxServer) -> None:
    loaded = load_threads(sandbox.state, SHARED_DATA / "twitter" / "twitter_conv_corpus.txt")
    assert loaded.threads > 1000 and loaded.tweets > 2 * loaded.threads
    assert ids(api, "love -is:retweet lang:en")  # real text is searchable
