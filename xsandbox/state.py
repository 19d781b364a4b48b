"""The sandbox's world: users, tweets, rate-limit windows and the faults to inject."""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.channels.twitter.search_limits import RECENT_SEARCH_DAYS
from agent.channels.twitter.window import normalise
from agent.settings import LOCAL_X_CREDENTIALS
from generator.tweetlen import TWEET_LIMIT
from xsandbox.query import QueryError, compile_query

# X's snowflake epoch (ms). Ids are time-based like X's, so a restarted sandbox keeps handing
# out ids above the cursor a loop saved against the previous one.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657


def snowflake_now() -> int:
    """A 64-bit id for this millisecond, shaped like X's (timestamp in the top 41 bits)."""
    return (int(time.time() * 1000) - SNOWFLAKE_EPOCH_MS) << 22


# X's own per-user limits differ by tier; these defaults are Pro-like and tests shrink them.
DEFAULT_LIMITS = {"mentions": 180, "post": 100, "search": 180, "lookup": 900, "me": 75}


def _page_below(token: str | None, parameter: str) -> int | None:
    """The id a page token continues below (tokens are ``p<last id of the previous page>``)."""
    if token is None:
        return None
    if not token.startswith("p") or not token[1:].isdigit():
        raise ApiError(
            400, "Invalid Request", f"The `{parameter}` query parameter value is invalid."
        )
    return int(token[1:])


class ApiError(Exception):
    """An error the sandbox answers with X's problem shape: status, title, detail."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "detail": self.detail,
            "type": "about:blank",
            "status": self.status,
        }


DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
# How the sandbox applies X's duplicate-content rule: like X, to every post of the account
# (default); only within one thread; or not at all.
DUPLICATE_RULES = ("account", "thread", "off")
NOT_MENTIONED = (
    "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
    "engaged by the author of the post you are replying to."
)
# X's answer to a reply to a tweet that was deleted, or whose author is protected (and not
# followed) or suspended: it does not say which.
NOT_VISIBLE = "You attempted to reply to a Tweet that is deleted or not visible to you."
BLOCKED = "You have been blocked from the author of this tweet."
# Who may reply to a tweet (X's reply_settings): everyone, the users it mentions, or the
# author's followers (the bot follows no one in the sandbox).
REPLY_SETTINGS = ("everyone", "mentionedUsers", "following")


@dataclass
class Faults:
    """Probabilities (0..1) of each injected fault per API request, and their knobs."""

    rate_limited: float = 0.0  # 429 with x-rate-limit-reset
    server_error: float = 0.0  # 500 / 503
    slow: float = 0.0  # answer after slow_seconds (a client with a shorter timeout gives up)
    drop: float = 0.0  # close the connection without an answer
    duplicate_delivery: float = 0.0  # a mentions page repeats a few already-delivered mentions
    slow_seconds: float = 2.0
    # Seconds until the injected 429's window resets; 0 means it has already reset.
    reset_after_seconds: int = 0
    omit_reset_header: bool = False

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {name!r}")
            kind = type(getattr(self, name))
            if kind is bool and isinstance(value, str):
                value = value.lower() in ("1", "true", "yes", "on")
            setattr(self, name, kind(value))


@dataclass
class Window:
    limit: int
    remaining: int
    reset: float


@dataclass
class SandboxState:
    """Everything the sandbox knows; methods take one lock, so handlers may run in threads."""

    bot_username: str = "ada"
    credentials: dict[str, str] = field(default_factory=lambda: dict(LOCAL_X_CREDENTIALS))
    oauth2_token: str | None = None
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    window_seconds: float = 900.0
    faults: Faults = field(default_factory=Faults)
    # Seeds the injected faults and id gaps, so a run repeats exactly.
    seed: int | None = None
    duplicate_rule: str = "account"
    # X does not publish its window; a day matches what people observe.
    duplicate_window_seconds: float = 24 * 3600
    # X's search index lags behind posting; tweets younger than this are not found yet.
    search_lag_seconds: float = 0.0
    # X's 24-hour post cap (None: none): posts past it get 429 with x-<scope>-limit-24hour-*
    # headers and a reset this far away; scope "user" (the account's cap) or "app".
    daily_post_cap: int | None = None
    daily_cap_seconds: float = 24 * 3600
    daily_cap_scope: str = "user"
    # X's mentions timeline returns only the most recent mentions, 800 of them (None: all):
    # older ones are reachable through recent search alone.
    mention_timeline_cap: int | None = None
    # Whether the account's tier may use recent search (X's lowest tier may not: 403).
    search_enabled: bool = True

    def __post_init__(self) -> None:
        if self.daily_cap_scope not in ("user", "app"):
            raise ValueError(f"daily_cap_scope must be user or app, not {self.daily_cap_scope!r}")
        if self.duplicate_rule not in DUPLICATE_RULES:
            raise ValueError(
                f"duplicate_rule must be one of {', '.join(DUPLICATE_RULES)}, "
                f"not {self.duplicate_rule!r}"
            )
        self.lock = threading.RLock()
        self.rng = random.Random(self.seed)
        self.next_id = snowflake_now()
        self.users: dict[str, dict[str, str]] = {}
        self.by_name: dict[str, str] = {}
        self.tweets: dict[int, dict[str, Any]] = {}
        self.windows: dict[str, Window] = {}
        self.stats: dict[str, int] = {}
        # Tweets the bot may not reply to, and the 403 detail X gives (tests set this).
        self.refuse: dict[int, str] = {}
        # Tweets deleted by their authors; per user id, "protected", "suspended" (either hides
        # their tweets from the bot) and "blocks_bot".
        self.deleted: set[int] = set()
        self.standing: dict[str, set[str]] = {}
        # (author id, normalised text) -> when and in which thread the author posted it.
        self.posted_texts: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self.created: dict[int, float] = {}  # tweet id -> time.time() it was made
        self.bot_id = self.user(self.bot_username)["id"]

    # -- world ------------------------------------------------------------------------------
    def _new_id(self) -> int:
        self.next_id += 1 + self.rng.randrange(3)  # gaps, as real snowflakes have
        return self.next_id

    def user(self, username: str) -> dict[str, str]:
        """The user with this name, created on first use."""
        with self.lock:
            key = username.lower().lstrip("@")
            if key not in self.by_name:
                uid = str(self._new_id())
                self.users[uid] = {"id": uid, "username": key, "name": key.title()}
                self.by_name[key] = uid
            return self.users[self.by_name[key]]

    def tweet(
        self,
        username: str,
        text: str,
        in_reply_to: int | None = None,
        lang: str = "en",
        reply_settings: str = "everyone",
    ) -> dict[str, Any]:
        """Post as ``username`` (the web page, tests and loads use this; no rules are checked).

        ``lang`` is what X's language detection would have set; the sandbox detects nothing.
        ``reply_settings`` is who may reply (:data:`REPLY_SETTINGS`).
        """
        if reply_settings not in REPLY_SETTINGS:
            raise ValueError(f"reply_settings must be one of {', '.join(REPLY_SETTINGS)}")
        with self.lock:
            tweet = self._create(self.user(username)["id"], text, in_reply_to, lang)
            tweet["reply_settings"] = reply_settings
            return tweet

    def delete(self, tweet_id: int) -> None:
        """The author deletes the tweet: it leaves timelines and search, and replies to it fail."""
        with self.lock:
            if tweet_id not in self.tweets:
                raise KeyError(tweet_id)
            self.deleted.add(tweet_id)

    def set_user(
        self,
        username: str,
        *,
        protected: bool | None = None,
        suspended: bool | None = None,
        blocks_bot: bool | None = None,
    ) -> None:
        """Change a user's standing: protected or suspended users' tweets are not visible to
        the bot (X treats both alike for it); a user may block the bot. None leaves a flag."""
        with self.lock:
            uid = self.user(username)["id"]
            standing = self.standing.setdefault(uid, set())
            for name, value in (
                ("protected", protected),
                ("suspended", suspended),
                ("blocks_bot", blocks_bot),
            ):
                if value is not None:
                    (standing.add if value else standing.discard)(name)

    def visible(self, tweet_id: int) -> bool:
        """Whether the bot can see the tweet: not deleted, its author neither protected nor
        suspended."""
        tweet = self.tweets.get(tweet_id)
        if tweet is None or tweet_id in self.deleted:
            return False
        return not self.standing.get(tweet["author_id"], set()) & {"protected", "suspended"}

    def retweet(self, username: str, tweet_id: int) -> dict[str, Any]:
        """A retweet of ``tweet_id`` by ``username``: it repeats the text and so the mention."""
        with self.lock:
            original = self.tweets[tweet_id]
            author = self.users[original["author_id"]]["username"]
            text = f"RT @{author}: {original['text']}"
            tweet = self._create(self.user(username)["id"], text, None, original["lang"])
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": str(tweet_id)}]
            return tweet

    def _create(
        self, author_id: str, text: str, in_reply_to: int | None = None, lang: str = "en"
    ) -> dict[str, Any]:
        tid = self._new_id()
        tweet: dict[str, Any] = {
            "id": str(tid),
            "text": text,
            "lang": lang,
            "author_id": author_id,
            "conversation_id": str(tid),
            "created_at": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "edit_history_tweet_ids": [str(tid)],
        }
        if in_reply_to is not None:
            parent = self.tweets.get(in_reply_to)
            if parent is None:
                raise ApiError(
                    400, "Invalid Request", "One or more parameters to your request was invalid."
                )
            tweet["conversation_id"] = parent["conversation_id"]
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": str(in_reply_to)}]
        self.tweets[tid] = tweet
        self.created[tid] = time.time()
        said = self.posted_texts.setdefault((author_id, normalise(text)), [])
        said.append((time.time(), tweet["conversation_id"]))
        return tweet

    def repeats(self, author_id: str, text: str, thread: str | None) -> bool:
        """Whether X's duplicate rule, as configured, refuses this post."""
        if self.duplicate_rule == "off":
            return False
        since = time.time() - self.duplicate_window_seconds
        return any(
            at > since and (self.duplicate_rule == "account" or conversation == thread)
            for at, conversation in self.posted_texts.get((author_id, normalise(text)), [])
        )

    def names_bot(self, tweet: dict[str, Any]) -> bool:
        """The tweet's text names the account (@ada)."""
        return bool(re.search(rf"@{re.escape(self.bot_username)}\b", tweet["text"], re.I))

    def mentions_bot(self, tweet: dict[str, Any]) -> bool:
        """A mention: the tweet names the account or replies to one of its tweets (as on X)."""
        return self.names_bot(tweet) or tweet.get("in_reply_to_user_id") == self.bot_id

    def bot_replies(self) -> list[dict[str, Any]]:
        """The bot's tweets, oldest first."""
        with self.lock:
            return [t for _, t in sorted(self.tweets.items()) if t["author_id"] == self.bot_id]

    def count(self, name: str) -> None:
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + 1

    # -- API behaviour ------------------------------------------------------------------------
    def take(self, endpoint: str) -> dict[str, str]:
        """Spend one request of ``endpoint``'s window; raise the 429 X sends when it is empty."""
        with self.lock:
            now = time.time()
            window = self.windows.get(endpoint)
            if window is None or now >= window.reset:
                limit = self.limits[endpoint]
                window = self.windows[endpoint] = Window(limit, limit, now + self.window_seconds)
            headers = {
                "x-rate-limit-limit": str(window.limit),
                "x-rate-limit-reset": str(int(window.reset + 0.999)),
            }
            if window.remaining <= 0:
                self.count("rate_limited")
                raise ApiError(
                    429,
                    "Too Many Requests",
                    "Too Many Requests",
                    headers | {"x-rate-limit-remaining": "0"},
                )
            if endpoint == "post" and self.daily_post_cap is not None:
                headers |= self._take_daily(
                    now, headers | {"x-rate-limit-remaining": str(window.remaining)}
                )
            window.remaining -= 1
            return headers | {"x-rate-limit-remaining": str(window.remaining)}

    def _take_daily(self, now: float, window_headers: dict[str, str]) -> dict[str, str]:
        """Spend one post of the 24-hour cap (every post request counts); X's 429 with the
        cap's headers when it is spent, the 15-minute window untouched."""
        day = self.windows.get("post_day")
        if day is None or now >= day.reset:
            cap = self.daily_post_cap or 0
            day = self.windows["post_day"] = Window(cap, cap, now + self.daily_cap_seconds)
        prefix = f"x-{self.daily_cap_scope}-limit-24hour"
        headers = {
            f"{prefix}-limit": str(day.limit),
            f"{prefix}-reset": str(int(day.reset + 0.999)),
        }
        if day.remaining <= 0:
            self.count("daily_capped")
            raise ApiError(
                429,
                "Too Many Requests",
                "Too Many Requests",
                window_headers | headers | {f"{prefix}-remaining": "0"},
            )
        day.remaining -= 1
        return headers | {f"{prefix}-remaining": str(day.remaining)}

    def roll(self, fault: str) -> bool:
        """Whether to inject ``fault`` into this request (seeded, so runs repeat)."""
        with self.lock:
            hit = self.rng.random() < getattr(self.faults, fault)
            if hit:
                self.count(f"injected_{fault}")
            return hit

    def mentions(
        self, user_id: str, since_id: int | None, max_results: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of mentions, newest first, and the token for the next (older) page."""
        with self.lock:
            if user_id != self.bot_id:
                raise ApiError(
                    403, "Forbidden", "You can only read your own mentions in the sandbox."
                )
            ids = [
                tid
                for tid in sorted(self.tweets, reverse=True)
                if self.mentions_bot(self.tweets[tid]) and self.visible(tid)
            ][: self.mention_timeline_cap]
            if since_id is not None and self.roll("duplicate_delivery"):
                older = [tid for tid in ids if tid <= since_id][:3]
                since_id = older[-1] - 1 if older else since_id
            if since_id is not None:
                ids = [tid for tid in ids if tid > since_id]
            below = _page_below(token, "pagination_token")
            if below is not None:
                ids = [tid for tid in ids if tid < below]
            page = ids[:max_results]
            more = len(ids) > max_results
            return [self.tweets[tid] for tid in page], (f"p{page[-1]}" if more else None)

    def post(self, author_id: str, text: str, in_reply_to: int | None) -> dict[str, Any]:
        """Create a tweet as the API does, with X's length, duplicate and reply rules."""
        with self.lock:
            if not text or len(text) > TWEET_LIMIT:
                raise ApiError(
                    400, "Invalid Request", "One or more parameters to your request was invalid."
                )
            thread = None
            if in_reply_to is not None:
                parent = self.tweets.get(in_reply_to)
                if parent is None:
                    raise ApiError(
                        400,
                        "Invalid Request",
                        "One or more parameters to your request was invalid.",
                    )
                if in_reply_to in self.refuse:
                    raise ApiError(403, "Forbidden", self.refuse[in_reply_to])
                if author_id == self.bot_id:
                    self._check_reply(parent, in_reply_to)
                thread = parent["conversation_id"]
            if self.repeats(author_id, text, thread):
                self.count("refused_duplicate")
                raise ApiError(403, "Forbidden", DUPLICATE)
            return self._create(author_id, text, in_reply_to)

    def _check_reply(self, parent: dict[str, Any], parent_id: int) -> None:
        """X's 403s for a reply of the bot's: the tweet is gone or hidden, its author blocks
        the bot, or its reply settings leave the bot out."""
        if not self.visible(parent_id):
            self.count("refused_not_visible")
            raise ApiError(403, "Forbidden", NOT_VISIBLE)
        if "blocks_bot" in self.standing.get(parent["author_id"], set()):
            self.count("refused_blocked")
            raise ApiError(403, "Forbidden", BLOCKED)
        if parent["author_id"] == self.bot_id:
            return
        settings = parent.get("reply_settings", "everyone")
        if (
            not self.mentions_bot(parent)
            or settings == "following"
            or (settings == "mentionedUsers" and not self.names_bot(parent))
        ):
            self.count("refused_not_allowed")
            raise ApiError(403, "Forbidden", NOT_MENTIONED)

    def search(
        self,
        query: str,
        max_results: int,
        token: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        since_id: int | None = None,
        until_id: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of recent search (newest first, the last seven days) and the next page's token;
        ``since_id``/``until_id`` keep only ids above/below them, as on X.

        :raise ApiError: X's 400 for a query it would refuse, a bad token or an old start_time.
        """
        with self.lock:
            if not self.search_enabled:
                raise ApiError(
                    403,
                    "Client Forbidden",
                    "This endpoint is not available at your current access level.",
                )
            try:
                match = compile_query(query, self._user_id)
            except QueryError as exc:
                raise ApiError(400, "Invalid Request", str(exc)) from None
            now = time.time()
            oldest = now - RECENT_SEARCH_DAYS * 86400
            if start_time is not None and start_time.timestamp() < oldest - 60:
                floor = datetime.fromtimestamp(oldest, UTC).strftime("%Y-%m-%dT%H:%MZ")
                raise ApiError(
                    400,
                    "Invalid Request",
                    f"Invalid 'start_time':'{start_time:%Y-%m-%dT%H:%MZ}'. "
                    f"'start_time' must be on or after {floor}",
                )
            below = _page_below(token, "next_token")
            since = max(oldest, start_time.timestamp() if start_time else oldest)
            until = min(now - self.search_lag_seconds, end_time.timestamp() if end_time else now)
            found = []
            for tid in sorted(self.tweets, reverse=True):
                if below is not None and tid >= below:
                    continue
                if (since_id is not None and tid <= since_id) or (
                    until_id is not None and tid >= until_id
                ):
                    continue
                if not since <= self.created[tid] <= until or not match(self.tweets[tid]):
                    continue
                if not self.visible(tid):
                    continue
                found.append(self.tweets[tid])
                if len(found) > max_results:
                    break
            page = found[:max_results]
            return page, (f"p{page[-1]['id']}" if len(found) > max_results else None)

    def _user_id(self, value: str) -> str:
        """A ``from:``/``to:`` value (an id or a user name) as a user id."""
        return value if value.isdigit() else self.by_name.get(value.lower().lstrip("@"), "")

    def snapshot(self) -> dict[str, Any]:
        """Users, tweets and counters for the web page and the control API."""
        with self.lock:
            return {
                "bot": self.users[self.bot_id],
                "users": list(self.users.values()),
                "tweets": [t for _, t in sorted(self.tweets.items())],
                "deleted": [str(t) for t in sorted(self.deleted)],
                "standing": {
                    self.users[uid]["username"]: sorted(flags)
                    for uid, flags in self.standing.items()
                    if flags
                },
                "stats": dict(self.stats),
            }
