"""Collect a topic's threads from X's recent search into a corpus the generator trains on.

Search the query (no retweets, one language), take each new conversation a match belongs to,
read the whole conversations, a dozen per search (``conversation_id:a OR ...``, paged), drop
what cannot train a reply model, rebuild the reply chains and append them to a
:class:`CollectedCorpus`. Every call goes through the mention loop's :class:`Retrier`, so 429s
wait for the reset and 5xx or dropped connections retry the same page: nothing is skipped and
nothing read twice is kept.
"""

from __future__ import annotations

import html
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tqdm import tqdm

from agent.channels.twitter.api import TwitterApi, referenced
from agent.channels.twitter.retry import Retrier, Stopped
from agent.channels.twitter.search_limits import MAX_QUERY_CHARS, RECENT_SEARCH_DAYS
from agent.core.messages import clean_text, storable_text
from generator.clean import scrub
from generator.collected import CollectedCorpus
from generator.threads import Post, as_turns, pseudonym, reply_chains
from nlu.stance_data import STANCES

# X's recent search: 10 to 100 posts a page.
PAGE_MIN, PAGE_MAX = 10, 100
FIELDS = ["author_id", "conversation_id", "referenced_tweets", "created_at", "lang"]
# X's codes for posts with no language of their own (emoji only, media only, ...).
NO_LANGUAGE = {"und", "zxx", "qme", "qam", "qct", "qht", "qst"}


def conversations_query(ids: list[str]) -> str:
    """One search for every post of these conversations."""
    return " OR ".join(f"conversation_id:{c}" for c in ids)


class BudgetSpent(Exception):
    """The --max-tweets budget cannot pay for another page."""


def check_since(since: datetime, now: datetime | None = None) -> datetime:
    """``since`` as an aware UTC time, or a ValueError that explains the seven-day window."""
    now = now or datetime.now(UTC)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    oldest = now - timedelta(days=RECENT_SEARCH_DAYS)
    if since < oldest:
        raise ValueError(
            f"{since:%Y-%m-%d %H:%M} UTC is older than X's recent search reaches: it covers the "
            f"last {RECENT_SEARCH_DAYS} days only (from {oldest:%Y-%m-%d %H:%M} UTC). Older posts "
            "need X's full-archive search (Pro and Enterprise access), which collect does not use."
        )
    if since > now:
        raise ValueError(f"{since:%Y-%m-%d %H:%M} UTC is in the future")
    return since


@dataclass(frozen=True)
class CollectOptions:
    """What to collect and how much X may be read for it."""

    query: str
    max_tweets: int
    max_threads: int | None = None
    lang: str | None = "en"
    since: datetime | None = None
    account_id: str | None = None  # the bot's own tweets are never training data


@dataclass
class CollectReport:
    """What a run read, kept and dropped, and why it stopped."""

    read: int = 0  # posts X returned: what the tier's monthly cap counts
    matches: int = 0
    known: int = 0  # matched conversations already in the corpus
    looked_at: int = 0
    threads: int = 0
    chains: int = 0
    pairs: int = 0
    tweets: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    sides: Counter[str] = field(default_factory=Counter)  # kept threads by their root's stance
    stopped: str = "no more matches"

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` things dropped for ``reason`` (reasons with none stay unlisted)."""
        if count:
            self.dropped[reason] += count

    def lines(self, lang: str | None) -> list[str]:
        """The report a person reads after a run."""
        reasons = {
            "too_short": "too short (no words left after scrubbing links, @handles, e-mail)",
            "language": f"not in {lang!r}",
            "bot": "the bot's own tweets",
            "retweet": "retweets",
            "duplicate_tweet": "duplicates (a tweet read twice)",
            "duplicate_chain": "duplicates (a chain already in the corpus)",
            "no_reply": "chains without a reply",
            "malformed": "malformed (no id or conversation)",
        }
        out = [
            f"read {self.read} tweets ({self.matches} matches; {self.known} conversations "
            f"already collected); stopped: {self.stopped}",
            f"kept {self.tweets} tweets in {self.threads} threads: {self.chains} chains, "
            f"{self.pairs} reply pairs ({self.looked_at} new conversations looked at)",
        ]
        if self.sides:
            shares = ", ".join(
                f"{side} {self.sides[side]} ({self.sides[side] / self.threads:.0%})"
                for side in STANCES
            )
            out.append(f"stance of the threads kept (their first tweet's): {shares}")
        out += [f"dropped {n} {reasons.get(k, k)}" for k, n in sorted(self.dropped.items())]
        return out


def tweet_text(raw: str) -> str:
    """Tweet text as the corpus keeps it: X's HTML escapes undone, invisible and control
    characters and lone surrogates gone, then scrubbed as ``generator prepare`` scrubs."""
    return scrub(clean_text(storable_text(html.unescape(raw)).replace("\ufffd", " ")))


class Collector:
    """One collection run against one corpus file."""

    def __init__(
        self,
        api: TwitterApi,
        retrier: Retrier,
        corpus: CollectedCorpus,
        options: CollectOptions,
        progress: bool = True,
        side_of: Callable[[str], str] | None = None,
    ) -> None:
        self.api, self.retrier, self.corpus, self.options = api, retrier, corpus, options
        # Reads the side a thread's first tweet takes (the NLU's stance), to label the thread.
        self.side_of = side_of
        self.report = CollectReport()
        self.progress = progress

    # -- X --------------------------------------------------------------------------------
    def _pages(self, query: str) -> Iterator[list[dict[str, Any]]]:
        """Every page of a recent search, each paid from the budget before it is asked for."""
        token: str | None = None
        while True:
            left = self.options.max_tweets - self.report.read
            if left < PAGE_MIN:
                raise BudgetSpent
            params: dict[str, Any] = {
                "max_results": min(PAGE_MAX, left),
                "tweet_fields": FIELDS,
                "user_auth": self.api.user_auth,
            }
            if self.options.since is not None:
                params["start_time"] = self.options.since
            if token is not None:
                params["next_token"] = token
            body = self.retrier.call(
                "search", lambda p=params: self.api.client.search_recent_tweets(query, **p)
            )
            page = body.get("data", [])
            self.report.read += len(page)
            yield page
            token = body.get("meta", {}).get("next_token")
            if token is None:
                return

    def _conversations(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """All tweets X still has in recent search of these conversations, unique by id.

        One ``conversation_id:a OR conversation_id:b ...`` search for a batch: a conversation
        is usually a page or less, and a request per conversation would spend the rate limit
        (180 searches per 15 minutes on X's Pro tier, 60 on Basic) more than ten times as fast.
        """
        query = conversations_query(ids)
        tweets: dict[str, dict[str, Any]] = {}
        for page in self._pages(query):
            for tweet in page:
                if tweet["id"] in tweets:
                    self.report.drop("duplicate_tweet")
                tweets[tweet["id"]] = tweet
        grouped: dict[str, list[dict[str, Any]]] = {c: [] for c in ids}
        for tweet in tweets.values():
            grouped.get(str(tweet.get("conversation_id")), []).append(tweet)
        return grouped

    # -- filtering ------------------------------------------------------------------------
    def _drop_reason(self, tweet: dict[str, Any], text: str) -> str | None:
        lang = tweet.get("lang")
        if referenced(tweet, "retweeted") is not None:
            return "retweet"
        if self.options.account_id and tweet.get("author_id") == self.options.account_id:
            return "bot"
        if self.options.lang and lang and lang not in NO_LANGUAGE and lang != self.options.lang:
            return "language"
        if not any(ch.isalnum() for ch in text):
            return "too_short"
        return None

    def _post(self, tweet: dict[str, Any], conversation_id: str) -> Post | None:
        text = tweet_text(str(tweet.get("text", "")))
        reason = self._drop_reason(tweet, text)
        if reason is not None:
            self.report.drop(reason)
            return None
        return Post(
            id=str(tweet["id"]),
            conversation_id=conversation_id,
            parent_id=referenced(tweet, "replied_to"),
            author=pseudonym(self.corpus.salt, str(tweet.get("author_id", ""))),
            text=text,
        )

    def _keep(self, conversation_id: str, tweets: list[dict[str, Any]]) -> bool:
        """Rebuild, filter and append one conversation; whether anything of it was kept."""
        posts = [p for t in tweets if (p := self._post(t, conversation_id)) is not None]
        chains = [as_turns(path) for path in reply_chains(posts)]
        replies = [c for c in chains if len(c.turns) >= 2]
        self.report.drop("no_reply", len(chains) - len(replies))
        # A thread takes its root's side: replies argue with the root, so their own stance
        # says little about which side the thread is on (SNAM's design).
        side = self.side_of(replies[0].turns[0]) if replies and self.side_of else None
        written = self.corpus.add(conversation_id, replies, self.options.query, side)
        self.report.drop("duplicate_chain", len(replies) - len(written))
        if not written:
            return False
        self.report.threads += 1
        if side is not None:
            self.report.sides[side] += 1
        self.report.chains += len(written)
        self.report.pairs += len(set().union(*(c.pairs() for c in written)))
        self.report.tweets += len({i for c in written for ids in c.post_ids for i in ids})
        return True

    # -- the run --------------------------------------------------------------------------
    def search_query(self) -> str:
        """The user's query, without retweets, in the wanted language."""
        lang = f" lang:{self.options.lang}" if self.options.lang else ""
        return f"({self.options.query}) -is:retweet{lang}"

    def _new_conversations(self) -> Iterator[str]:
        """Ids of the conversations the matches belong to, new to the corpus, each once."""
        done: set[str] = set()
        for page in self._pages(self.search_query()):
            for tweet in page:
                self.report.matches += 1
                conversation = str(tweet.get("conversation_id", ""))
                if not conversation.isdigit():  # never let text into the next query
                    self.report.drop("malformed")
                elif conversation not in done:
                    done.add(conversation)
                    if conversation in self.corpus.seen:
                        self.report.known += 1
                    else:
                        yield conversation

    def _batch_full(self, batch: list[str]) -> bool:
        """Whether one more id would make the batch's query too long, or collect more threads
        than --max-threads still wants (so a small run reads little)."""
        more = conversations_query([*batch, batch[-1]])
        wanted = self.options.max_threads
        return len(more) > MAX_QUERY_CHARS or (
            wanted is not None and len(batch) >= wanted - self.report.threads
        )

    def _collect(self, batch: list[str], bar: tqdm) -> None:
        """Read a batch of conversations whole, then keep what trains; none is kept before the
        whole batch is read, so a budget or a stop mid-batch leaves all of it for next time."""
        grouped = self._conversations(batch)
        for conversation in batch:
            self.report.looked_at += 1
            if self._keep(conversation, grouped[conversation]):
                bar.update()
        bar.set_postfix(read=self.report.read, refresh=False)

    def run(self) -> CollectReport:
        """Collect until the matches, the budget or --max-threads run out, or the retrier's
        stop event is set (SIGTERM, Ctrl-C)."""
        stop = self.retrier.stop
        bar = tqdm(total=self.options.max_threads, unit="thread", disable=not self.progress)
        batch: list[str] = []
        try:
            for conversation in self._new_conversations():
                if self._full(stop):
                    return self.report
                batch.append(conversation)
                if self._batch_full(batch):
                    self._collect(batch, bar)
                    batch = []
            if batch and not self._full(stop):
                self._collect(batch, bar)
        except BudgetSpent:
            self.report.stopped = f"--max-tweets budget ({self.options.max_tweets}) spent"
        except Stopped:
            self.report.stopped = "interrupted; the conversations in hand are left for next time"
        finally:
            bar.close()
        return self.report

    def _full(self, stop: threading.Event) -> bool:
        if stop.is_set():
            self.report.stopped = "interrupted"
            return True
        limit = self.options.max_threads
        if limit is not None and self.report.threads >= limit:
            self.report.stopped = f"--max-threads {limit} reached"
            return True
        return False
