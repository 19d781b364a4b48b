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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from agent.core.machine import DialogueMachine
from agent.core.messages import Incoming, Reply, check_message, storable_text
from agent.core.script import DialogueScript, TransitionSpec
from agent.core.variants import Option, TextWindow, choose, display_name, generator_options, ranked
from agent.storage.models import Conversation, Turn, User
from agent.storage.store import get_or_create_conversation, recent_turns, thread_history
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
    options: list[Option] = field(default_factory=list)
    variation: str | None = None


def _seed(conv: Conversation) -> str:
    """Seeds the reply choice per conversation and turn: replays give the same replies."""
    return f"{conv.id}:{conv.version}"


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
        self,
        incoming: Incoming,
        on_saved: Callable[[Session, Turn], None] | None = None,
        window: TextWindow | None = None,
    ) -> Reply:
        """Answer ``incoming`` and log the turn; ``on_saved`` runs inside the same transaction.

        With a ``window`` (X's duplicate rule), the reply is the best option whose text the
        channel has not used lately, and the turn keeps the ranked options for the poster.

        :raise MessageRejected: the text is empty or too long; nothing is saved.
        """
        started = time.perf_counter()
        text = check_message(incoming.text, self.max_message_chars)
        models = self.models  # one snapshot per turn, even if a hot swap lands meanwhile
        parse = models.parser.parse(text)  # pure: done once, outside the retried transaction
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self._writer, self.sessions.begin() as session:
                    turn = self._turn(session, models, incoming, parse, started, window)
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
        self,
        session: Session,
        models: Models,
        incoming: Incoming,
        parse: Parse,
        started: float,
        window: TextWindow | None,
    ) -> Turn:
        now = incoming.received_at or datetime.now(UTC)
        user, conv = get_or_create_conversation(
            session, incoming.channel, incoming.user_id, incoming.handle, self.script.initial
        )
        expired = self._expire_if_idle(conv, now)
        state_before = conv.state
        trusted = self.trusted(parse)
        slots = self._fill_slots(dict(conv.slots), parse)
        name = display_name(incoming.display_name, incoming.handle)
        outcome = self._decide(
            session, models, user, conv, parse, trusted, slots, incoming.text, name
        )
        if window is not None and outcome.text is not None:
            self._vary(session, models, conv, slots, incoming.text, name, outcome, window)
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
            reply_options=[o.as_json() for o in outcome.options],
            variation=outcome.variation,
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
        name: str | None,
    ) -> _Outcome:
        state = conv.state
        if user.paused:
            return _Outcome(None, "silent", state)
        mentioned = self.script.mentioned({e.label for e in parse.entities})
        view = self.script.with_lookups(slots)
        step = self.machine.step(state, view, parse.intent, mentioned) if trusted else None
        spec = self.script.transition(step.fired) if step and step.fired else None
        if user.opted_out:
            if spec is None or not spec.opt_in:
                return _Outcome(None, "silent", state)  # opted out: listen, never answer
            user.opted_out = False
        if spec is not None and step is not None:
            scripted = self._scripted(spec, step.state_after, slots, conv, name)
            if scripted is not None:
                if spec.opt_out:
                    user.opted_out = True
                return scripted
        return self._fallback(session, models.generator, conv, slots, raw_text, name)

    def _scripted(
        self,
        spec: TransitionSpec,
        state_after: str,
        slots: dict[str, Any],
        conv: Conversation,
        name: str | None,
    ) -> _Outcome | None:
        if spec.reset:
            slots.clear()
        # Intent slots ("yes" means optimistic) only count when they answer the script's question.
        for slot in self.script.slots.values():
            if spec.trigger in slot.intents:
                slots[slot.name] = slot.intents[spec.trigger]
        templates = spec.replies or self.script.state_replies.get(state_after, ())
        view = self.script.with_lookups(slots)
        options = ranked(templates, view, conv.last_reply, _seed(conv), name)
        # Empty: nothing but a repeat (or an empty slot) is left; the generator or a canned line
        # answers instead.
        if not options:
            return None
        return _Outcome(options[0].text, "scripted", state_after, options=options)

    def _vary(
        self,
        session: Session,
        models: Models,
        conv: Conversation,
        slots: dict[str, Any],
        raw_text: str,
        name: str | None,
        outcome: _Outcome,
        window: TextWindow,
    ) -> None:
        """Swap the reply for the best option the window lets through (X's duplicate rule);
        keep every option ranked on the outcome, canned lines last, for the poster."""
        first = outcome.text or ""
        canned = ranked(
            self.script.fallback_replies, slots, conv.last_reply, _seed(conv), name, "canned"
        )
        generator = models.generator
        if generator is None:  # one look-up covers every option
            index, options = choose(window, session, outcome.options + canned)
        else:  # the generator runs only when every scripted option is taken

            def generated() -> list[Option]:
                return generator_options(generator, self._context(session, conv, slots, raw_text))

            index, options = choose(
                window, session, outcome.options, later=[generated, lambda: canned]
            )
        known = {o.text for o in options}
        outcome.options = options + [o for o in canned if o.text not in known]
        outcome.text = options[index].text
        if index > 0:
            outcome.variation = (
                f"{first[:80]!r} was posted lately; sent option {index + 1} "
                f"({options[index].source}) instead"
            )

    def _fallback(
        self,
        session: Session,
        generator: ReplyGenerator | None,
        conv: Conversation,
        slots: dict[str, Any],
        raw_text: str,
        name: str | None,
    ) -> _Outcome:
        rejected = None
        if generator is not None:
            generated = generator.reply(self._context(session, conv, slots, raw_text))
            if generated.text:
                options = [Option(generated.text, "generated")]
                return _Outcome(generated.text, "generated", conv.state, options=options)
            rejected = generated.rejected_reason
        options = ranked(
            self.script.fallback_replies, slots, conv.last_reply, _seed(conv), name, "canned"
        )
        text = options[0].text if options else None
        return _Outcome(text, "canned", conv.state, rejected, options)

    def _context(
        self, session: Session, conv: Conversation, slots: dict[str, Any], raw_text: str
    ) -> ReplyContext:
        """What the generator conditions on: the last few turns and the topic."""
        past = recent_turns(session, conv.id, self.history_turns)
        return ReplyContext(
            history=tuple(thread_history(((t.user_text, t.reply_text) for t in past), raw_text)),
            topic=slots.get("topic") or self.script.topic,
            previous_bot_reply=conv.last_reply,
            max_chars=TWEET_LIMIT,
        )

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
