"""The mention loop: poll into the inbox, answer each mention, post from the outbox, repeat."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import tweepy
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from agent.channels.twitter import inbox
from agent.channels.twitter.api import Mention, TwitterApi
from agent.channels.twitter.limits import TokenBucket
from agent.channels.twitter.liveness import WorkerLock
from agent.channels.twitter.lock import PollerLock
from agent.channels.twitter.outbox import Poster, pending_ids, release_all
from agent.channels.twitter.pacing import MENTIONS
from agent.channels.twitter.retry import Retrier, RetryPolicy, Stopped
from agent.channels.twitter.search_limits import RECENT_SEARCH_DAYS, TIMELINE_CAP, snowflake_time
from agent.channels.twitter.window import PostedTextWindow
from agent.channels.twitter.worker import handle_mention
from agent.core.pipeline import Agent, ConversationBusy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    """How the loop behaves; ``from_settings`` in cli.py fills it from THREADBOT_TWITTER_*."""

    account_id: str
    poll_interval: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_replies_per_hour: int = 10
    posts_per_hour: float = 100.0
    post_burst: int = 10
    reconcile_grace: float = 20.0
    # No reply text repeats within this many hours (X's duplicate-content rule).
    duplicate_window_hours: float = 24.0
    dry_run: bool = False
    backfill: bool = False
    # A worker that dies holding a claim delays that mention by this much, no more.
    lease: timedelta = timedelta(minutes=5)
    claim_batch: int = 50
    # Posting is network-bound: a few threads overlap it with answering the next mention.
    post_workers: int = 4
    # A reply held this long by X's post cap is not sent when posting resumes (None: always).
    max_reply_age: timedelta | None = None
    # How many mentions X's timeline returns at most; a walk that brings this many may have
    # left older ones behind (a gap, filled through recent search).
    timeline_cap: int = TIMELINE_CAP


@dataclass
class LoopStats:
    """Counters for logs, tests and the admin page."""

    polls: int = 0
    stored: int = 0
    handled: int = 0
    posted: int = 0
    last_poll_at: datetime | None = None

    def __str__(self) -> str:
        return (
            f"{self.polls} polls, {self.stored} mentions stored, {self.handled} handled, "
            f"{self.posted} replies posted"
        )


class MentionLoop:
    """Runs until ``stop`` is set; the current mention is always finished first."""

    def __init__(
        self,
        agent: Agent,
        engine: Engine,
        api: TwitterApi,
        config: LoopConfig,
        stop: threading.Event | None = None,
    ) -> None:
        self.agent, self.api, self.config = agent, api, config
        self.sessions = agent.sessions
        self.stop = stop or threading.Event()
        self.retrier = Retrier(config.retry, self.stop)
        self.bucket = TokenBucket(config.posts_per_hour / 3600, config.post_burst)
        self.window = PostedTextWindow(config.account_id, config.duplicate_window_hours)
        self.poster = Poster(
            self.sessions,
            api,
            config.account_id,
            self.retrier,
            self.bucket,
            self.window,
            lease=config.lease,
            reconcile_grace=config.reconcile_grace,
            max_reply_age=config.max_reply_age,
        )
        self.lock = PollerLock(engine, config.account_id)
        self.liveness = WorkerLock(engine)
        self.stats = LoopStats()
        self._bot_username: str | None = None

    def run(self) -> None:
        """Poll, answer and post until stopped; ``CredentialsRejected`` ends it at once."""
        self.recover()
        outages = 0
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    self.run_once()
                    outages = 0
                except Stopped:
                    break
                except DBAPIError as exc:
                    # The database restarting or failing over: every claim and outbox row is
                    # safe in it, so wait and resume rather than exit.
                    outages += 1
                    delay = self.retrier.backoff(outages)
                    log.error(
                        "database error (%s); resuming in %.1f s", type(exc.orig).__name__, delay
                    )
                    self.lock.release()  # its connection may be dead; re-acquired next pass
                    if self.stop.wait(delay):
                        break
                    continue
                self.stop.wait(self._next_poll(time.monotonic() - started))
        finally:
            self.close()
        log.info("mention loop stopped: %s", self.stats)

    def _next_poll(self, elapsed: float) -> float:
        """Seconds until the next pass: the poll interval, or longer when the mentions
        endpoint's budget would not last it (pacing.py); only the poller is paced so."""
        wait = max(0.0, self.config.poll_interval - elapsed)
        if self.lock.held:
            paced = self.api.pacer.wait(MENTIONS)
            if paced > wait:
                log.debug("pacing: next poll in %.1f s (X's mentions window)", paced)
                wait = paced
        return wait

    def close(self) -> None:
        """Give up the poller role and the worker's liveness lock (``run`` does this itself
        when it ends)."""
        self.lock.release()
        self.liveness.release()

    def recover(self) -> None:
        """On SQLite, free the claims a killed run left (one loop process is all it supports)."""
        if not self.lock.postgres:
            with self.sessions.begin() as session:
                inbox.release_claims(session, self.config.account_id)
                release_all(session, self.config.account_id)

    def run_once(self) -> int:
        """One pass: poll (if this process is the poller), answer the inbox, drain the outbox."""
        self.poster.hand_back()
        self._own_claims()
        self.poster.refresh_pause()
        if self.lock.try_acquire():
            self.poll()
        self.drain_outbox()  # a crash's leftovers first: those users' next mentions wait on them
        handled = self.work_inbox()
        self.drain_outbox()
        return handled

    def _own_claims(self) -> None:
        """Take (or re-take, after a lost connection) this worker's liveness lock, and free
        the claims it still holds: between passes it is working on nothing, so those are
        what a pass abandoned (the database went away midway) and would otherwise wait out
        their lease."""
        me = self.liveness.ensure()
        self.poster.worker = me
        if me is None:
            return
        with self.sessions.begin() as session:
            inbox.release_claims(session, self.config.account_id, worker=me)
            release_all(session, self.config.account_id, worker=me)

    def poll(self) -> int:
        """Fetch every mention newer than the cursor into the inbox; the number newly stored."""
        account = self.config.account_id
        with self.sessions.begin() as session:
            cursor = inbox.get_cursor(session, account)
            since = cursor.since_id if cursor else None
            first = cursor is None
        now = datetime.now(UTC)
        if first and not self.config.backfill:
            newest = self.retrier.call("mentions", lambda: self.api.newest_mention_id(account))
            with self.sessions.begin() as session:
                inbox.save_cursor(session, account, newest, now)
            log.info(
                "first start: answering mentions newer than %s (--backfill answers older ones)",
                newest or "now (none yet)",
            )
            return 0
        walked: list[Mention] = []
        token = None
        while True:
            page, token = self.retrier.call(
                "mentions", lambda t=token: self.api.mentions_page(account, since, t)
            )
            walked += page
            if token is None:
                break
            if self.stop.is_set():
                return 0  # a partial walk is dropped; the next poll redoes it from the cursor
        gap = self._fill_gap(since, walked, now)
        if gap is None:
            return 0  # stopped midway: the next poll redoes it from the cursor
        found, closed, unreachable = gap
        walked += found
        # One transaction for the whole walk (and the gap's search): pages arrive newest
        # first, and storing a user's newer mention before their older one could let another
        # worker answer out of order.
        newest = max([m.tweet_id for m in walked] + [since or 0]) or None
        with self.sessions.begin() as session:
            stored = inbox.store_mentions(session, account, walked)
            inbox.save_cursor(session, account, newest, now)
            if closed is not None:
                inbox.record_gap(session, account, closed, unreachable)
        self.stats.polls += 1
        self.stats.stored += stored
        self.stats.last_poll_at = now
        if stored:
            log.info("stored %d new mention(s)", stored)
        return stored

    def _fill_gap(
        self, since: int | None, walked: list[Mention], now: datetime
    ) -> tuple[list[Mention], bool | None, datetime | None] | None:
        """The mentions the timeline's 800 cap cut off, fetched through recent search.

        When the walk brought the cap's worth of new mentions, older ones may lie between the
        cursor and the oldest walked: search pages from that edge back to the cursor, or to
        search's seven days. Returns what it found, whether a gap was closed (None: no gap),
        and when mentions began to be out of reach (its window started after the cursor);
        None when a stop came midway.
        """
        new = {m.tweet_id for m in walked if since is None or m.tweet_id > since}
        if len(new) < self.config.timeline_cap:
            return [], None, None
        edge = min(new)
        username = self._username()
        found: list[Mention] = []
        token = None
        while True:
            try:
                page, token = self.retrier.call(
                    "mention search",
                    lambda t=token: self.api.search_mentions(username, since, edge, t),
                )
            except tweepy.HTTPException as exc:  # e.g. a tier without recent search (403)
                log.error("the timeline's cap left a gap that search cannot fill: %s", exc)
                return found, False, None
            found += page
            if token is None:
                break
            if self.stop.is_set():
                return None
        window_start = now - timedelta(days=RECENT_SEARCH_DAYS)
        start = snowflake_time(since) if since is not None else None
        unreachable = window_start if start is None or start < window_start else None
        if unreachable is not None:
            log.warning(
                "mentions between %s and %s are beyond X's timeline cap and its %d-day search",
                f"{start:%Y-%m-%d %H:%M}" if start else "the account's start",
                f"{window_start:%Y-%m-%d %H:%M} UTC",
                RECENT_SEARCH_DAYS,
            )
        log.info("the timeline's cap left a gap; search found %d older mention(s)", len(found))
        return found, unreachable is None, unreachable

    def _username(self) -> str:
        """The bot account's user name (for searching its mentions), asked of X once."""
        if self._bot_username is None:
            self._bot_username = self.retrier.call("me", self.api.me)[1]
        return self._bot_username

    def work_inbox(self) -> int:
        """Answer pending mentions in tweet order; replies post on a small thread pool meanwhile,
        one at a time per user (``claim_mentions`` holds back a user with a reply posting)."""
        done = 0
        with ThreadPoolExecutor(self.config.post_workers, "post") as pool:
            in_flight: set[Future[str | None]] = set()
            while not self.stop.is_set():
                batch = self._claim()
                if not batch:
                    if not in_flight:
                        break
                    # A user whose reply is still posting waits (their replies go out in
                    # order); once a post finishes, their next mention can be claimed.
                    finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    self._collect(finished)
                    continue
                for index, mention in enumerate(batch):
                    if self.stop.is_set():
                        with self.sessions.begin() as session:  # hand the rest back at once
                            rest = [m.tweet_id for m in batch[index:]]
                            inbox.release_claims(session, self.config.account_id, rest)
                        break
                    try:
                        _, job = handle_mention(
                            self.agent,
                            self.config.account_id,
                            mention,
                            user_cap=self.config.user_replies_per_hour,
                            dry_run=self.config.dry_run,
                            lease=self.config.lease,
                            window=self.window,
                            worker=self.poster.worker,
                        )
                    except DBAPIError:
                        raise  # the database is away: the pass ends here, run() waits for it
                    except ConversationBusy:
                        log.warning(
                            "mention %s: its conversation was busy; will retry", mention.tweet_id
                        )
                        continue
                    except Exception:
                        # One bad mention must not stop the rest; its lease lapses and it is
                        # tried again later (the user's newer mentions wait behind it).
                        log.exception("mention %s failed; will retry", mention.tweet_id)
                        continue
                    done += 1
                    self.stats.handled += 1
                    if job is not None:
                        in_flight.add(pool.submit(self.poster.post, job.id, job))
                    # Bounded, so a stalled X does not pile up thousands of waiting posts.
                    while len(in_flight) >= 2 * self.config.post_workers:
                        finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                        self._collect(finished)
            self._collect(wait(in_flight).done)
        return done

    def _claim(self) -> list[inbox.ClaimedMention]:
        """The next pending mentions, claimed for this worker for one lease."""
        with self.sessions.begin() as session:
            return inbox.claim_mentions(
                session,
                self.config.account_id,
                datetime.now(UTC),
                self.config.lease,
                self.config.claim_batch,
                self.poster.worker,
            )

    def _collect(self, finished: set[Future[str | None]]) -> None:
        """Count posted replies; re-raise a worker's CredentialsRejected or Stopped here."""
        for future in finished:
            if future.result() is not None:
                self.stats.posted += 1

    def drain_outbox(self) -> None:
        """Post replies left over from a crash, an earlier failure or a post-cap pause (not
        while the pause lasts: they would all be handed straight back)."""
        if self.poster.paused():
            return
        with self.sessions.begin() as session:
            ids = pending_ids(session, self.config.account_id, datetime.now(UTC))
        for outbox_id in ids:
            if self.stop.is_set():
                return
            if self.poster.post(outbox_id) is not None:
                self.stats.posted += 1
