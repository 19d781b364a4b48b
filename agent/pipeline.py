"""The turn pipeline: parse, step the machine or fall back, and save the turn in one transaction.

The agent owns the transaction (rather than the caller, as STYLE.md suggests) because a turn
that loses a race must be replayed from the start: only the agent can retry it whole.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from agent.machine import DialogueMachine
from agent.messages import Incoming, Reply, check_message, storable_text
from agent.models import Conversation, Turn, User
from agent.replies import render_reply
from agent.script import DialogueScript, TransitionSpec
from agent.store import get_or_create_conversation, recent_turns
from generator.types import ReplyContext, ReplyGenerator
from nlu.trust import is_trusted
from nlu.types import IntentParser, Parse

log = logging.getLogger(__name__)

# PostgreSQL's serialization failure and deadlock codes: both mean "run the turn again".
_RETRY_SQLSTATES = {"40001", "40P01"}
TWEET_LIMIT = 280


@dataclass(frozen=True)
class Thresholds:
    """Overrides for the NLU model's own trust decision; None keeps the model's."""

    confidence: float | None = None
    margin: float | None = None


@dataclass(frozen=True)
class Models:
    """The parser and generator one turn uses, swapped as a pair so a turn never mixes versions."""

    parser: IntentParser
    generator: ReplyGenerator | None


@dataclass
class _Outcome:
    text: str | None
    tier: str
    state_after: str
    rejected_reason: str | None = None


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, StaleDataError | IntegrityError):
        return True
    if isinstance(exc, OperationalError):
        code = getattr(exc.orig, "sqlstate", None)
        return code in _RETRY_SQLSTATES or "database is locked" in str(exc.orig)
    return False


class Agent:
    """Answers one message at a time for any number of users; safe to share across threads."""

    def __init__(
        self,
        script: DialogueScript,
        parser: IntentParser,
        generator: ReplyGenerator | None,
        sessions: sessionmaker[Session],
        *,
        thresholds: Thresholds | None = None,
        session_timeout_minutes: float | None = None,
        max_message_chars: int = 10_000,
        history_turns: int = 3,
        max_attempts: int = 20,
    ) -> None:
        self.script = script
        self.machine = DialogueMachine(script)
        self.models = Models(parser, generator)
        self.sessions = sessions
        self.thresholds = thresholds or Thresholds()
        self.session_timeout = timedelta(
            minutes=session_timeout_minutes or script.session_timeout_minutes
        )
        self.max_message_chars = max_message_chars
        self.history_turns = history_turns
        self.max_attempts = max_attempts
        # SQLite has one writer at a time and its busy handler sleeps in steps of up to 100 ms;
        # queueing this process's turns on a lock is far fairer. Other processes still meet the
        # busy timeout and the version check.
        bind = sessions.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writer: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if sqlite else contextlib.nullcontext()
        )

    @property
    def parser(self) -> IntentParser:
        return self.models.parser

    @property
    def generator(self) -> ReplyGenerator | None:
        return self.models.generator

    def swap_models(
        self, parser: IntentParser | None = None, generator: ReplyGenerator | None = None
    ) -> None:
        """Serve new models from the next turn on; turns in flight finish with the old pair."""
        self.models = Models(parser or self.parser, generator or self.generator)

    def handle(
        self, incoming: Incoming, on_saved: Callable[[Session, Turn], None] | None = None
    ) -> Reply:
        """Answer ``incoming`` and log the turn; ``on_saved`` runs inside the same transaction.

        :raise MessageRejected: the text is empty or too long; nothing is saved.
        """
        started = time.perf_counter()
        text = check_message(incoming.text, self.max_message_chars)
        models = self.models  # one snapshot per turn, even if a hot swap lands meanwhile
        parse = models.parser.parse(text)  # pure: done once, outside the retried transaction
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self._writer, self.sessions.begin() as session:
                    turn = self._turn(session, models, incoming, parse, started)
                    if on_saved is not None:
                        on_saved(session, turn)
                return self._reply(turn, parse)
            except (StaleDataError, IntegrityError, OperationalError) as exc:
                if not _retryable(exc) or attempt == self.max_attempts:
                    raise
                log.debug("turn for %s lost a race (%s); retrying", incoming.user_id, exc)
                # Jittered exponential backoff keeps hammering writers from colliding in step.
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise AssertionError("unreachable")

    def trusted(self, parse: Parse) -> bool:
        """Whether to act on the top intent: the model's decision unless settings override it."""
        return is_trusted(parse, self.thresholds.confidence, self.thresholds.margin)

    def _turn(
        self, session: Session, models: Models, incoming: Incoming, parse: Parse, started: float
    ) -> Turn:
        now = incoming.received_at or datetime.now(UTC)
        user, conv = get_or_create_conversation(
            session, incoming.channel, incoming.user_id, incoming.handle, self.script.initial
        )
        expired = self._expire_if_idle(conv, now)
        state_before = conv.state
        trusted = self.trusted(parse)
        slots = self._fill_slots(dict(conv.slots), parse)
        outcome = self._decide(session, models, user, conv, parse, trusted, slots, incoming.text)
        turn = Turn(
            conversation=conv,
            channel=incoming.channel,
            created_at=now,
            user_text=storable_text(incoming.text),
            reply_text=outcome.text,
            intent=parse.intent,
            confidence=parse.confidence,
            trusted=trusted,
            alternatives=[asdict(i) for i in parse.intents],
            entities=[asdict(e) for e in parse.entities],
            slots=slots,
            state_before=state_before,
            state_after=outcome.state_after,
            tier=outcome.tier,
            rejected_reason=outcome.rejected_reason,
            session_expired=expired,
            nlu_version=models.parser.version,
            generator_version=models.generator.version if models.generator else None,
            latency_ms=0.0,
            thread_id=incoming.thread_id,
            message_id=incoming.message_id,
            in_reply_to_id=incoming.in_reply_to_id,
        )
        conv.state = outcome.state_after
        conv.slots = slots
        conv.last_activity = now
        if outcome.text is not None:
            conv.last_reply = outcome.text
        session.add(turn)
        turn.latency_ms = (time.perf_counter() - started) * 1000
        session.flush()
        return turn

    def _expire_if_idle(self, conv: Conversation, now: datetime) -> bool:
        last = conv.last_activity
        if last is None:
            return False
        if last.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
            last = last.replace(tzinfo=UTC)
        if now - last <= self.session_timeout:
            return False
        conv.state, conv.slots = self.script.initial, {}
        return True

    def _fill_slots(self, slots: dict[str, Any], parse: Parse) -> dict[str, Any]:
        """Entity slots fill before the step, so the script's guards can see them."""
        for slot in self.script.slots.values():
            value = next((e.value for e in parse.entities if e.label == slot.entity), None)
            if slot.entity and value:
                slots[slot.name] = value
        return slots

    def _decide(
        self,
        session: Session,
        models: Models,
        user: User,
        conv: Conversation,
        parse: Parse,
        trusted: bool,
        slots: dict[str, Any],
        raw_text: str,
    ) -> _Outcome:
        state = conv.state
        if user.paused:
            return _Outcome(None, "silent", state)
        step = self.machine.step(state, slots, parse.intent) if trusted else None
        spec = self.script.transition(step.fired) if step and step.fired else None
        if user.opted_out:
            if spec is None or not spec.opt_in:
                return _Outcome(None, "silent", state)  # opted out: listen, never answer
            user.opted_out = False
        if spec is not None and step is not None:
            scripted = self._scripted(spec, step.state_after, slots, conv)
            if scripted is not None:
                if spec.opt_out:
                    user.opted_out = True
                return scripted
        return self._fallback(session, models.generator, conv, slots, raw_text)

    def _scripted(
        self, spec: TransitionSpec, state_after: str, slots: dict[str, Any], conv: Conversation
    ) -> _Outcome | None:
        if spec.reset:
            slots.clear()
        # Intent slots ("yes" means optimistic) only count when they answer the script's question.
        for slot in self.script.slots.values():
            if spec.trigger in slot.intents:
                slots[slot.name] = slot.intents[spec.trigger]
        templates = spec.replies or self.script.state_replies.get(state_after, ())
        text = render_reply(templates, slots, conv.last_reply, f"{conv.id}:{conv.version}")
        return None if text is None else _Outcome(text, "scripted", state_after)

    def _fallback(
        self,
        session: Session,
        generator: ReplyGenerator | None,
        conv: Conversation,
        slots: dict[str, Any],
        raw_text: str,
    ) -> _Outcome:
        rejected = None
        if generator is not None:
            history: list[str] = []
            for past in recent_turns(session, conv.id, self.history_turns):
                history += [past.user_text] + ([past.reply_text] if past.reply_text else [])
            context = ReplyContext(
                history=(*history, raw_text),
                topic=slots.get("topic") or self.script.topic,
                previous_bot_reply=conv.last_reply,
                max_chars=TWEET_LIMIT,
            )
            generated = generator.reply(context)
            if generated.text:
                return _Outcome(generated.text, "generated", conv.state)
            rejected = generated.rejected_reason
        text = render_reply(
            self.script.fallback_replies, slots, conv.last_reply, f"{conv.id}:{conv.version}"
        )
        return _Outcome(text, "canned", conv.state, rejected)

    def _reply(self, turn: Turn, parse: Parse) -> Reply:
        return Reply(
            text=turn.reply_text,
            tier=turn.tier,
            intent=parse.intent,
            confidence=parse.confidence,
            trusted=turn.trusted,
            state=turn.state_after,
            turn_id=turn.id,
            latency_ms=turn.latency_ms,
            alternatives=turn.alternatives,
            entities=turn.entities,
            rejected_reason=turn.rejected_reason,
        )
