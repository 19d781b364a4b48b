"""Posting replies from the outbox exactly once: claim, reconcile if unsure, post, record."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import tweepy
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.inbox import ClaimedMention
from agent.channels.twitter.limits import TokenBucket
from agent.channels.twitter.liveness import claimable
from agent.channels.twitter.models import (
    BLOCKED,
    DRY_RUN,
    DUPLICATE,
    FAILED,
    FORBIDDEN,
    PENDING,
    POSTED,
    REPLIES_CLOSED,
    TOO_LATE,
    UNDELIVERABLE,
    VANISHED,
    OutboxReply,
)
from agent.channels.twitter.pause import Pause, read_pause, record_pause, spent_cap
from agent.channels.twitter.retry import TRANSIENT, Retrier
from agent.channels.twitter.window import PostedTextWindow, text_key
from agent.core.variants import Option, choose
from agent.storage.models import Turn
from agent.storage.store import unsay_turn

log = logging.getLogger(__name__)
# X's duplicate rule is not documented exactly; past this many refusals of one reply, give up.
MAX_DUPLICATE_SWITCHES = 10


@dataclass(frozen=True)
class Job:
    """An outbox row this worker holds the lease on, detached from any session: what the
    poster needs. ``unsure`` means an earlier attempt may already be on X."""

    id: int
    mention_id: int
    conversation_id: str | None
    text: str
    unsure: bool
    last_attempt_at: datetime | None
    queued_at: datetime | None = None  # when the turn wrote it (too late to send after a pause?)


def _now() -> datetime:
    return datetime.now(UTC)


def queue_reply(
    session: Session,
    account_id: str,
    mention: ClaimedMention,
    turn: Turn,
    *,
    dry_run: bool,
    now: datetime,
    lease: timedelta,
    worker: int | None = None,
) -> Job | None:
    """Add the turn's reply to the outbox in the turn's transaction; the job to post it now,
    or None on a dry run (the row then records what would have been sent)."""
    text = turn.reply_text or ""
    # Born claimed with one attempt counted: if the process dies before the POST returns, the
    # next run reconciles against X instead of posting blind.
    reply = OutboxReply(
        mention_id=mention.tweet_id,
        account_id=account_id,
        author_id=mention.message.user_id,
        conversation_id=mention.message.thread_id,
        text=text,
        text_key=text_key(text),
        status=DRY_RUN if dry_run else PENDING,
        attempts=0 if dry_run else 1,
        last_attempt_at=None if dry_run else now,
        claimed_until=None if dry_run else now + lease,
        claimed_by=None if dry_run else worker,
        turn_id=turn.id,
    )
    session.add(reply)
    session.flush()
    if dry_run:
        return None
    return Job(reply.id, reply.mention_id, reply.conversation_id, text, False, now, now)


def pending_ids(session: Session, account_id: str, now: datetime, limit: int = 500) -> list[int]:
    """Unclaimed pending replies, oldest first."""
    return list(
        session.scalars(
            select(OutboxReply.id)
            .where(
                OutboxReply.account_id == account_id,
                OutboxReply.status == PENDING,
                claimable(session, OutboxReply.claimed_until, OutboxReply.claimed_by, now),
            )
            .order_by(OutboxReply.id)
            .limit(limit)
        )
    )


def release_all(session: Session, account_id: str, worker: int | None = None) -> None:
    """Drop the leases of pending replies: a worker's own (what a pass it abandoned left), or
    every one (only safe where this process is the only worker)."""
    statement = update(OutboxReply).where(
        OutboxReply.account_id == account_id, OutboxReply.status == PENDING
    )
    if worker is not None:
        statement = statement.where(OutboxReply.claimed_by == worker)
    session.execute(statement.values(claimed_until=None, claimed_by=None))


def claim(
    session: Session,
    outbox_id: int,
    now: datetime,
    lease: timedelta,
    worker: int | None = None,
) -> Job | None:
    """Count one attempt and take the lease in one UPDATE, so two workers never both post."""
    row = session.get(OutboxReply, outbox_id)
    if row is None or row.status != PENDING:
        return None
    taken = session.execute(
        update(OutboxReply)
        .where(
            OutboxReply.id == outbox_id,
            OutboxReply.status == PENDING,
            OutboxReply.attempts == row.attempts,
            claimable(session, OutboxReply.claimed_until, OutboxReply.claimed_by, now),
        )
        .values(
            attempts=row.attempts + 1,
            last_attempt_at=now,
            claimed_until=now + lease,
            claimed_by=worker,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return None
    return Job(
        row.id,
        row.mention_id,
        row.conversation_id,
        row.text,
        row.attempts > 0,
        row.last_attempt_at,
        row.created_at,
    )


def hold(session: Session, job: Job) -> None:
    """Hand a claimed row back unposted (posting is paused): the attempt it counted is undone
    when nothing can be on X from it, so it is not reconciled for nothing later."""
    values: dict[str, object] = {"claimed_until": None, "claimed_by": None}
    if not job.unsure:
        values |= {"attempts": 0, "last_attempt_at": None}
    session.execute(
        update(OutboxReply)
        .where(OutboxReply.id == job.id, OutboxReply.status == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def record(
    session: Session, outbox_id: int, status: str, tweet_id: str | None, error: str | None
) -> None:
    """Close an outbox row: posted with its tweet id, or refused for good.

    A posted row keeps its note of earlier duplicate refusals, if any.
    """
    values = {
        "status": status,
        "posted_tweet_id": tweet_id,
        "posted_at": _now() if status == POSTED else None,
        "claimed_until": None,
        "claimed_by": None,
    }
    if status != POSTED:
        values["error"] = error[:300] if error else None
    session.execute(
        update(OutboxReply)
        .where(OutboxReply.id == outbox_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _options(session: Session, row: OutboxReply) -> list[Option]:
    """The options of the row's turn, ending with the row's text if it is not one of them (a
    numbered line an earlier switch made up)."""
    turn = session.get(Turn, row.turn_id) if row.turn_id is not None else None
    options = [Option(**o) for o in turn.reply_options] if turn is not None else []
    if row.text not in {o.text for o in options}:
        options.append(Option(row.text, "sent"))
    return options


# X's 403 details, as it words them, for refusals that are about the mention, not the bot.
_UNDELIVERABLE = (
    ("deleted or not visible", VANISHED),
    ("blocked from", BLOCKED),
    ("conversation is not allowed", REPLIES_CLOSED),
)


def _refusal(exc: tweepy.HTTPException) -> tuple[str, str]:
    """The outbox status X's final refusal leaves a reply in, and X's words for it."""
    detail = "; ".join(exc.api_messages) or str(exc)
    if isinstance(exc, tweepy.Forbidden):
        said = detail.lower()
        if "duplicate" in said:
            return DUPLICATE, detail
        return next(
            (status for words, status in _UNDELIVERABLE if words in said), FORBIDDEN
        ), detail
    return FAILED, detail


class Poster:
    """Posts claimed replies, retrying transient failures and reconciling before any repost."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api: TwitterApi,
        account_id: str,
        retrier: Retrier,
        bucket: TokenBucket,
        window: PostedTextWindow,
        *,
        lease: timedelta = timedelta(minutes=5),
        reconcile_grace: float = 20.0,
        max_reply_age: timedelta | None = None,
    ) -> None:
        self.sessions, self.api, self.account_id = sessions, api, account_id
        self.retrier, self.bucket, self.window = retrier, bucket, window
        self.lease, self.reconcile_grace = lease, reconcile_grace
        self.max_reply_age = max_reply_age
        self.worker: int | None = None  # this worker's id for claims (liveness.py), per pass
        self.abandoned: set[int] = set()
        # X's post cap (pause.py): until when nothing is posted; after it, one post probes.
        self._pause_lock = threading.Lock()
        self.pause: Pause | None = None
        self._prober: int | None = None  # the thread whose post is the probe, if any

    def refresh_pause(self) -> None:
        """Read the account's pause from the database: another worker may have hit the cap,
        or an operator lifted it."""
        with self.sessions() as session:
            found = read_pause(session, self.account_id)
        with self._pause_lock:
            if self._prober is None:
                self.pause = found

    def paused(self) -> bool:
        """Whether posting waits for X's reset now (the loop skips draining meanwhile)."""
        with self._pause_lock:
            return self.pause is not None and _now() < self.pause.until

    def _may_post(self) -> bool:
        """True to post; False to hold the reply. After the reset only one post goes out, the
        probe, until its answer says whether the cap was lifted."""
        with self._pause_lock:
            if self.pause is None:
                return True
            if _now() < self.pause.until or self._prober is not None:
                return False
            self._prober = threading.get_ident()
            return True

    def _set_pause(self, pause: Pause | None) -> None:
        """Pause (or lift the pause on) posting for every worker; ends this worker's probe."""
        with self._pause_lock:
            changed = pause != self.pause
            self.pause, self._prober = pause, None
        if changed:
            with self.sessions.begin() as session:
                record_pause(session, self.account_id, pause)
            if pause is not None:
                until = f"{pause.until:%Y-%m-%d %H:%M:%S} UTC"
                log.warning("posting paused until %s (%s)", until, pause.reason)
            else:
                log.info("posting resumed: X's post cap was lifted")

    def post(self, outbox_id: int, fresh: Job | None = None) -> str | None:
        """Post one outbox row if this worker can claim it; the status it ended in.

        ``fresh`` is a row this worker wrote already claimed, in the turn's transaction.
        """
        try:
            return self._post(outbox_id, fresh)
        except DBAPIError:
            # Our lease would hold the row, and its author's next replies, until it lapses.
            self.abandoned.add(outbox_id)
            raise

    def hand_back(self) -> None:
        """Drop the leases of rows a database outage made this worker abandon."""
        if self.abandoned:
            with self.sessions.begin() as session:
                session.execute(
                    update(OutboxReply)
                    .where(OutboxReply.id.in_(self.abandoned), OutboxReply.status == PENDING)
                    .values(claimed_until=None, claimed_by=None)
                )
            self.abandoned.clear()

    def _post(self, outbox_id: int, fresh: Job | None) -> str | None:
        job = fresh
        if job is None:
            with self.sessions.begin() as session:
                job = claim(session, outbox_id, _now(), self.lease, self.worker)
        if job is None:
            return None
        if not self._may_post():
            with self.sessions.begin() as session:
                hold(session, job)
            return None
        try:
            status = self._attempts(job)
        finally:
            with self._pause_lock:
                probed = self._prober == threading.get_ident()
                if probed:
                    self._prober = None
        if probed and status not in (None, TOO_LATE):
            self._set_pause(None)  # X took (or judged) a post: the cap is lifted
        return status

    def _attempts(self, job: Job) -> str | None:
        """Post ``job`` until it is on X or refused for good; None when a spent post cap made
        it wait (the row is handed back, pending, in its place)."""
        if self._too_late(job) and not job.unsure:  # an unsure one may be on X: reconcile
            return self._give_up_late(job)
        attempt = switches = 0
        while True:
            if job.unsure and (found := self._reconcile(job)) is not None:
                log.info("reply to %s was already on X as %s; recorded", job.mention_id, found)
                return self._record(job.id, POSTED, found, None)
            self._take_token()
            try:
                tweet_id = self.api.post_reply(job.text, job.mention_id)
            except (tweepy.HTTPException, *TRANSIENT) as exc:
                cap = spent_cap(exc) if isinstance(exc, tweepy.TooManyRequests) else None
                if cap is not None:  # hours away: wait for X's reset, not a 15-minute backoff
                    self._set_pause(cap)
                    with self.sessions.begin() as session:
                        hold(session, job)
                    return None
                delay = self.retrier.delay_for(exc, attempt)  # raises on 401
                if delay is None:
                    status, detail = _refusal(exc)  # type: ignore[arg-type]
                    if status == DUPLICATE and switches < MAX_DUPLICATE_SWITCHES:
                        # After a lost answer the "duplicate" may be our own reply, landed but
                        # not yet searchable: search again, a full grace after this refusal.
                        recent = replace(job, last_attempt_at=_now())
                        if job.unsure and (found := self._reconcile(recent)) is not None:
                            log.info("reply to %s was on X as %s", job.mention_id, found)
                            return self._record(job.id, POSTED, found, None)
                        switches += 1
                        job = self._switch(job, detail)
                        continue
                    if status in UNDELIVERABLE:  # the mention's doing, not a failure of ours
                        log.info(
                            "reply to %s not delivered (%s): %s", job.mention_id, status, detail
                        )
                    else:
                        log.warning("reply to %s refused: %s", job.mention_id, detail)
                    return self._record(job.id, status, None, detail)
                # A 429 means nothing was created; a 5xx or a lost answer may have posted anyway.
                unsure = job.unsure or not isinstance(exc, tweepy.TooManyRequests)
                reason = type(exc).__name__
            else:
                return self._record(job.id, POSTED, tweet_id, None)
            attempt += 1
            log.warning("reply to %s: %s; retry in %.2f s", job.mention_id, reason, delay)
            self.retrier.sleep(delay)
            now = _now()
            with self.sessions.begin() as session:
                session.execute(
                    update(OutboxReply)
                    .where(OutboxReply.id == job.id)
                    .values(
                        attempts=OutboxReply.attempts + 1,
                        last_attempt_at=now,
                        claimed_until=now + self.lease,
                    )
                )
            job = replace(job, unsure=unsure, last_attempt_at=now)

    def _switch(self, job: Job, detail: str) -> Job:
        """Move the row to its turn's next option the window lets through: a new attempt, with
        the refusal noted on the row. The turn stays as the agent logged it; the row says what
        was sent instead."""
        now = _now()
        with self.sessions.begin() as session:
            row = session.get(OutboxReply, job.id, with_for_update=True)
            assert row is not None
            options = _options(session, row)
            start = [o.text for o in options].index(row.text) + 1
            found = choose(self.window, session, options, start)
            assert found is not None  # no tier to make: a numbered line always gets through
            index, options = found
            chosen = options[index]
            note = f"X refused {row.text[:60]!r} as duplicate; switched to option {index + 1}"
            row.text, row.text_key = chosen.text, text_key(chosen.text)
            row.attempts += 1
            row.last_attempt_at, row.claimed_until = now, now + self.lease
            # Earlier switches' notes stay in front: the row tells each refusal, the last in full.
            row.error = (
                f"{row.error}; {note}: {detail}"[-300:] if row.error else f"{note}: {detail}"[:300]
            )
        log.warning("reply to %s: %s (%s)", job.mention_id, note, chosen.source)
        return replace(job, text=chosen.text, unsure=False, last_attempt_at=now)

    def _too_late(self, job: Job) -> bool:
        """Whether the operator's THREADBOT_TWITTER_MAX_REPLY_AGE_HOURS says not to send a
        reply this old (it waited out a post cap): "hi!" a day later is worse than nothing."""
        if self.max_reply_age is None or job.queued_at is None:
            return False
        return _now() - job.queued_at > self.max_reply_age

    def _give_up_late(self, job: Job) -> str:
        """Record the reply as not sent, and put the conversation back as if it had not been
        (its state and last reply), unless the person has said more since."""
        age = (_now() - (job.queued_at or _now())).total_seconds() / 3600
        note = f"not sent: {age:.1f} h old (THREADBOT_TWITTER_MAX_REPLY_AGE_HOURS)"
        with self.sessions.begin() as session:
            record(session, job.id, TOO_LATE, None, note)
            row = session.get(OutboxReply, job.id)
            if row is not None and row.turn_id is not None:
                unsay_turn(session, row.turn_id)
        log.info("reply to %s %s", job.mention_id, note)
        return TOO_LATE

    def _reconcile(self, job: Job) -> str | None:
        if job.conversation_id is None:
            return None
        if job.last_attempt_at is not None:
            # Search lags behind posting; a too-early "not found" would lead to a double reply.
            age = (_now() - job.last_attempt_at).total_seconds()
            if age < self.reconcile_grace:
                self.retrier.sleep(self.reconcile_grace - age)
        return self.retrier.call(
            "reconcile search",
            lambda: self.api.find_reply(self.account_id, job.conversation_id or "", job.mention_id),
        )

    def _take_token(self) -> None:
        while not self.bucket.try_take():
            self.retrier.sleep(self.bucket.delay())

    def _record(self, outbox_id: int, status: str, tweet_id: str | None, error: str | None) -> str:
        with self.sessions.begin() as session:
            record(session, outbox_id, status, tweet_id, error)
        return status
