"""The four X API v2 calls the loop makes, returning plain data instead of JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.channels.twitter.client import Connection

TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "created_at",
]


@dataclass(frozen=True)
class Mention:
    """A tweet that mentions the bot, with what the inbox needs."""

    tweet_id: int
    author_id: str
    author_handle: str | None
    author_name: str | None
    conversation_id: str | None
    in_reply_to_id: str | None
    text: str
    created_at: datetime | None
    is_retweet: bool


def referenced(tweet: dict[str, Any], kind: str) -> str | None:
    """The id of the post ``tweet`` references as ``kind`` (replied_to, retweeted, quoted)."""
    refs = tweet.get("referenced_tweets") or []
    return next((str(r["id"]) for r in refs if r.get("type") == kind), None)


def _mention(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Mention:
    created = tweet.get("created_at")
    author = users.get(tweet["author_id"], {})
    return Mention(
        tweet_id=int(tweet["id"]),
        author_id=str(tweet["author_id"]),
        author_handle=author.get("username"),
        author_name=author.get("name"),
        conversation_id=tweet.get("conversation_id"),
        in_reply_to_id=referenced(tweet, "replied_to"),
        text=tweet["text"],
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
        is_retweet=referenced(tweet, "retweeted") is not None,
    )


class TwitterApi:
    """Thin typed wrapper over ``tweepy.Client``; errors are tweepy's and requests' own."""

    def __init__(self, connection: Connection) -> None:
        self.client = connection.client
        self.user_auth = connection.user_auth
        self.pacer = connection.pacer

    def me(self) -> tuple[str, str]:
        """The authenticated account's id and username."""
        data = self.client.get_me(user_auth=self.user_auth)["data"]
        return str(data["id"]), data["username"]

    def mentions_page(
        self, account_id: str, since_id: int | None, token: str | None, max_results: int = 100
    ) -> tuple[list[Mention], str | None]:
        """One page of mentions newer than ``since_id``, newest first, and the next page's token."""
        params: dict[str, Any] = {
            "max_results": max_results,
            "tweet_fields": TWEET_FIELDS,
            "expansions": ["author_id"],
            "user_fields": ["username", "name"],
        }
        if since_id is not None:
            params["since_id"] = since_id
        if token is not None:
            params["pagination_token"] = token
        body = self.client.get_users_mentions(account_id, user_auth=self.user_auth, **params)
        users = {u["id"]: u for u in body.get("includes", {}).get("users", [])}
        mentions = [_mention(t, users) for t in body.get("data", [])]
        return mentions, body.get("meta", {}).get("next_token")

    def search_mentions(
        self, username: str, since_id: int | None, until_id: int, token: str | None
    ) -> tuple[list[Mention], str | None]:
        """One page of recent search for mentions of @``username`` with ids between
        ``since_id`` and ``until_id`` (both exclusive), newest first, and the next page's
        token: what the mentions timeline's 800 cap cut off."""
        params: dict[str, Any] = {
            "max_results": 100,
            "tweet_fields": TWEET_FIELDS,
            "expansions": ["author_id"],
            "user_fields": ["username", "name"],
            "until_id": until_id,
        }
        if since_id is not None:
            params["since_id"] = since_id
        if token is not None:
            params["next_token"] = token
        query = f"(@{username} OR to:{username}) -from:{username}"
        body = self.client.search_recent_tweets(query, user_auth=self.user_auth, **params)
        users = {u["id"]: u for u in body.get("includes", {}).get("users", [])}
        mentions = [_mention(t, users) for t in body.get("data", [])]
        return mentions, body.get("meta", {}).get("next_token")

    def newest_mention_id(self, account_id: str) -> int | None:
        """The id of the newest mention there is, without reading the rest."""
        body = self.client.get_users_mentions(account_id, user_auth=self.user_auth, max_results=5)
        return int(body["meta"]["newest_id"]) if body.get("data") else None

    def post_reply(self, text: str, in_reply_to: int) -> str:
        """Post ``text`` in reply to tweet ``in_reply_to``; the new tweet's id."""
        body = self.client.create_tweet(
            text=text, in_reply_to_tweet_id=in_reply_to, user_auth=self.user_auth
        )
        return str(body["data"]["id"])

    def find_reply(self, account_id: str, conversation_id: str, mention_id: int) -> str | None:
        """The bot's reply to ``mention_id`` if X already has one (searched by conversation)."""
        body = self.client.search_recent_tweets(
            f"conversation_id:{conversation_id} from:{account_id}",
            max_results=100,
            tweet_fields=["referenced_tweets", "author_id"],
            user_auth=self.user_auth,
        )
        for tweet in body.get("data", []):
            if referenced(tweet, "replied_to") == str(mention_id):
                return str(tweet["id"])
        return None
