"""The turn pipeline: parse, decide and generate holding nothing, then write what was decided.

A turn reads the user's conversation in a brief transaction, then parses, steps the machine and,
where the script falls back, runs the generator, with no lock held and no transaction open.
It writes in a short transaction, updating the conversation only if its version is still the
one read: if another turn moved the conversation meanwhile, the turn row-locks it, decides again
from the new state, keeping its parse and (when it still falls back) its generated reply, and
writes that. Only a new decision that needs a generation it has not got sends the turn back out
of the transaction to generate.

The agent owns the transactions (rather than the caller, as STYLE.md suggests) because only it
can redo a turn that lost a race; a channel that writes with the turn passes a ``Record``, and
gets back what the committed attempt's record returned.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.core.followup import UNNAMED, Binding, bind, is_topic
from agent.core.grounded import acknowledgements, sayable
from agent.core.machine import DialogueMachine
from agent.core.messages import Incoming, Reply, check_message, storable_text
from agent.core.provenance import storable_source
from agent.core.script import (
    ANSWER_SLOT,
    FOLLOW_UP_ACT,
    STANCE_SLOT,
    DialogueScript,
    TransitionSpec,
)
from agent.core.sides import message_side
from agent.core.variants import Option, TextWindow, choose, display_name, generator_options, ranked
from agent.settings import MAX_MESSAGE_CHARS
from agent.storage.models import Turn
from agent.storage.store import (
    Snapshot,
    create_conversation,
    insert_turn,
    read_conversation,
    recent_turns,
    save_conversation,
    thread_history,
    update_user,
)
from generator.tweetlen import TWEET_LIMIT
from generator.types import Generated, ReplyContext, ReplyGenerator
from nlu.acts import Act, analyse
from nlu.followups import Form, read_form
from nlu.types import IntentParser, Parse, StanceReader, is_trusted

log = logging.getLogger(__name__)

# A fallback message this long without a key phrase still moves the thread on (see
# Agent._next_subject); a shorter one ("haha", "ok cool") leaves its subject.
UNNAMED_AFTER_WORDS = 4
# PostgreSQL's serialization failure and deadlock codes: both mean "run the turn again".
_RETRY_SQLSTATES = {"40001", "40P01"}

J = TypeVar("J")


class Refused(enum.Enum):
    """A channel's record refusing a turn: another worker answered the message first."""

    REFUSED = "refused"


REFUSED = Refused.REFUSED


class ConversationBusy(RuntimeError):
    """Every attempt lost its write to another process changing the same conversation;
    nothing of the turn was saved, and the same message may be sent again (the chat API
    answers 503 with Retry-After, the X loop tries the mention again later)."""


Record = Callable[[Session, Turn], J | Refused]
"""A channel's rows for a turn (the Twitter inbox status and outbox reply), written in the
turn's transaction: what the channel wants back once the turn commits (X: the job to post), or
``REFUSED``, and nothing of the turn is saved. A retried write calls it again; only the
committed attempt's value comes back."""


def _no_rows(session: Session, turn: Turn) -> None:
    """The record of a channel that writes nothing with its turns."""


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
    source: dict[str, Any] | None = None  # where ``text`` came from, when the generator wrote it


@dataclass
class _Plan:
    """A turn decided against one snapshot of the conversation."""

    read: Snapshot
    now: datetime
    expired: bool
    state_before: str
    trusted: bool
    slots: dict[str, Any]
    opted_out: bool
    name: str | None
    subject: str | None  # what the thread was about before this message
    binding: Binding | None  # how the message follows up on it, if it does
    reset: bool = False  # the script's answer starts the conversation over
    outcome: _Outcome | None = None  # None: the fallback needs a generation not made yet

    @property
    def seed(self) -> str:
        """Seeds the reply choice per conversation and turn: replays give the same replies."""
        return f"{self.read.conversation_id}:{self.read.version}"


@dataclass
class _Inputs(Generic[J]):
    """What one turn works from, fixed before its first attempt, and the generator output it
    keeps across attempts: paid for once, reused while the decision that asked for it stands."""

    incoming: Incoming
    parse: Parse  # pure: made once, whatever happens to the write
    form: Form | None  # the message's follow-up form (nlu/followups.py), pure as well
    models: Models  # one snapshot per turn, even if a hot swap lands meanwhile
    record: Record[J]
    window: TextWindow | None
    started: float
    generated: Generated | None = None
    wants_options: bool = False  # a write found every other option taken by the window
    alternatives: list[Option] | None = None  # the generator's options for the window

    @functools.cached_property
    def act(self) -> Act:
        """The message's dialogue act and key phrase (nlu/acts.py), read when first needed."""
        return analyse(self.incoming.text)


class _Unsaved(enum.Enum):
    """Why an attempt saved nothing."""

    REPLY = "the fallback needs a generated reply: made outside the transaction, then again"
    OPTIONS = "the window took every option but the generator's: made outside, then again"
    ERASED = "the conversation was erased meanwhile: start over as someone new"
    REFUSED = "the channel's record refused the turn"


class _Conflict(Exception):
    """Another process holds the conversation's row for its own write: run the turn again."""


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, _Conflict | IntegrityError):
        return True
    if isinstance(exc, OperationalError):
        code = getattr(exc.orig, "sqlstate", None)
        return code in _RETRY_SQLSTATES or "database is locked" in str(exc.orig)
    return False


def _conversation_values(plan: _Plan, outcome: _Outcome, subject: str | None) -> dict[str, Any]:
    """The conversation's columns after the turn."""
    values: dict[str, Any] = {
        "state": outcome.state_after,
        "slots": plan.slots,
        "subject": subject,
        "last_activity": plan.now,
    }
    if outcome.text is not None:
        values["last_reply"] = outcome.text
    return values


class Agent:
    """Answers one message at a time for any number of users; safe to share across threads."""

    def __init__(
        self,
        script: DialogueScript,
        parser: IntentParser,
        generator: ReplyGenerator | None,
        sessions: sessionmaker[Session],
        *,
        threshold: float | None = None,
        margin: float | None = None,
        session_timeout_minutes: float | None = None,
        max_message_chars: int = MAX_MESSAGE_CHARS,
        history_turns: int = 3,
        max_attempts: int = 20,
    ) -> None:
        self.script = script
        self.machine = DialogueMachine(script)
        self.models = Models(parser, generator)
        self.sessions = sessions
        # Overrides of the NLU model's own trust gate, each on its own; None keeps the model's.
        self.threshold = threshold
        self.margin = margin
        self.session_timeout = timedelta(
            minutes=session_timeout_minutes or script.session_timeout_minutes
        )
        self.max_message_chars = max_message_chars
        self.history_turns = history_turns
        self.max_attempts = max_attempts
        # Intents a follow-up reading never overrides: "stop" means stop in any thread.
        self._controls = {t.trigger for t in script.transitions if t.reset or t.opt_out or t.opt_in}
        # SQLite has one writer at a time and its busy handler sleeps in steps of up to 100 ms;
        # queueing this process's writes on a lock is far fairer. It is held only while a turn
        # writes, never while one parses or generates. Other processes still meet the busy
        # timeout and the version check.
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

    def handle(self, incoming: Incoming, window: TextWindow | None = None) -> Reply:
        """Answer ``incoming`` and log the turn.

        With a ``window`` (X's duplicate rule), the reply is the best option whose text the
        channel has not used lately, and the turn keeps the ranked options for the poster.

        :raise MessageRejected: the text is empty or too long; nothing is saved.
        :raise ConversationBusy: no attempt could write; nothing is saved.
        """
        answered = self.answer(incoming, _no_rows, window)
        assert answered is not None  # only a channel's record can refuse a turn
        return answered[0]

    def answer(
        self, incoming: Incoming, record: Record[J], window: TextWindow | None = None
    ) -> tuple[Reply, J] | None:
        """Answer ``incoming`` and log the turn with the channel's ``record`` in the same
        transaction: the reply and what the record returned; None when the record refused the
        turn (nothing was saved). ``window`` as for ``handle``.

        :raise MessageRejected: the text is empty or too long; nothing is saved.
        :raise ConversationBusy: no attempt could write; nothing is saved.
        """
        started = time.perf_counter()
        text = check_message(incoming.text, self.max_message_chars)
        models = self.models
        parse, form = models.parser.parse(text), read_form(text)
        inputs = _Inputs(incoming, parse, form, models, record, window, started)
        failure: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                saved = self._attempt(inputs)
            except (_Conflict, IntegrityError, OperationalError) as exc:
                if not _retryable(exc):
                    raise
                failure = exc
                log.debug("turn for %s lost a race (%s); retrying", incoming.user_id, exc)
                # Jittered exponential backoff keeps hammering writers from colliding in step.
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
                continue
            if isinstance(saved, tuple):
                turn, recorded = saved
                return self._reply(turn, inputs.parse), recorded
            if saved is _Unsaved.REFUSED:
                return None
            inputs.wants_options |= saved is _Unsaved.OPTIONS
            log.debug("turn for %s starts over: %s", incoming.user_id, saved.value)
        attempts = self.max_attempts
        message = f"turn for {incoming.user_id} lost its write {attempts} times; nothing saved"
        raise ConversationBusy(message) from failure

    def trusted(self, parse: Parse) -> bool:
        """Whether to act on the top intent: the model's decision unless settings override it."""
        return is_trusted(parse, self.threshold, self.margin)

    def _attempt(self, inputs: _Inputs[J]) -> tuple[Turn, J] | _Unsaved:
        """Read and decide (generating where needed) holding nothing, then write and commit."""
        plan = self._prepare(inputs)
        with self._writer, self.sessions() as session:
            saved = self._write(session, inputs, plan)
            if isinstance(saved, tuple):
                session.commit()
        return saved

    def _prepare(self, inputs: _Inputs[J]) -> _Plan:
        """Read the conversation and decide, generating where the decision needs it, with no
        lock held and no transaction open."""
        plan = self._plan(inputs, self._read(inputs.incoming))
        generator = inputs.models.generator
        wants_options = inputs.wants_options and inputs.alternatives is None
        if generator is None or (plan.outcome is not None and not wants_options):
            return plan
        context = self._context(plan, inputs)
        if plan.outcome is None:
            inputs.generated = generator.reply(context)
            plan.outcome = self._fallback(plan, generator, inputs.generated)
        if wants_options:
            inputs.alternatives = generator_options(generator, context)
        return plan

    def _read(self, incoming: Incoming) -> Snapshot:
        with self.sessions() as session:
            # One statement: no transaction to begin and roll back (two round trips fewer on
            # PostgreSQL). pysqlite begins no transaction for a read anyway, and switching its
            # isolation level back and forth cost more than the read (184 vs 147 turns/s).
            if session.get_bind().dialect.name != "sqlite":
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            read = read_conversation(session, incoming.channel, incoming.user_id)
        if read is not None:
            return read
        with self._writer, self.sessions.begin() as session:
            return create_conversation(
                session, incoming.channel, incoming.user_id, incoming.handle, self.script.initial
            )

    def _write(
        self, session: Session, inputs: _Inputs[J], plan: _Plan
    ) -> tuple[Turn, J] | _Unsaved:
        """The version loop: save the conversation if no other turn moved it since the plan's
        read, then the turn's row; else hold the conversation's row and decide again."""
        incoming = inputs.incoming
        while True:
            outcome = self._final(session, inputs, plan)
            if isinstance(outcome, _Unsaved):
                return outcome
            values = _conversation_values(plan, outcome, self._next_subject(inputs, plan, outcome))
            if save_conversation(session, plan.read, **values):
                return self._log(session, inputs, plan, outcome)
            # Another turn moved the conversation: hold its row and decide again from there.
            read = read_conversation(session, incoming.channel, incoming.user_id, lock=True)
            if read is None:  # erased meanwhile (a forget request): start over as someone new
                return _Unsaved.ERASED
            if read.version == plan.read.version:  # not moved: the write lost to another process
                raise _Conflict(f"conversation {read.conversation_id} is locked elsewhere")
            plan = self._plan(inputs, read)

    def _final(self, session: Session, inputs: _Inputs[J], plan: _Plan) -> _Outcome | _Unsaved:
        """The plan's outcome, its text through the channel's window; or the generator output
        it needs first."""
        outcome = plan.outcome
        if outcome is None:
            return _Unsaved.REPLY
        window = inputs.window
        if window is None or outcome.text is None:
            return outcome
        if not self._vary(session, window, inputs, plan, outcome):
            return _Unsaved.OPTIONS
        return outcome

    def _log(
        self, session: Session, inputs: _Inputs[J], plan: _Plan, outcome: _Outcome
    ) -> tuple[Turn, J] | _Unsaved:
        """The user's changes, the turn's row and the channel's record, once the conversation
        is saved; the turn and what the record returned."""
        read, incoming = plan.read, inputs.incoming
        user: dict[str, Any] = {}
        if incoming.handle and read.handle != incoming.handle:
            user["handle"] = incoming.handle
        if plan.opted_out != read.opted_out:
            user["opted_out"] = plan.opted_out
        if user:
            update_user(session, read.user_id, **user)
        row = self._row(inputs, plan, outcome)
        turn = Turn(id=insert_turn(session, row), **row)  # the row as the caller reads it
        recorded = inputs.record(session, turn)
        if isinstance(recorded, Refused):
            return _Unsaved.REFUSED
        return turn, recorded

    def _row(self, inputs: _Inputs[J], plan: _Plan, outcome: _Outcome) -> dict[str, Any]:
        """The turn's columns as logged: final, whatever a channel does with the reply later."""
        incoming, parse, models = inputs.incoming, inputs.parse, inputs.models
        return dict(
            conversation_id=plan.read.conversation_id,
            channel=incoming.channel,
            created_at=plan.now,
            user_text=storable_text(incoming.text),
            reply_text=outcome.text,
            intent=parse.intent,
            confidence=parse.confidence,
            trusted=plan.trusted,
            alternatives=[i.as_json() for i in parse.intents],
            entities=[e.as_json() for e in parse.entities],
            slots=plan.slots,
            state_before=plan.state_before,
            state_after=outcome.state_after,
            tier=outcome.tier,
            rejected_reason=outcome.rejected_reason,
            reply_options=[o.as_json() for o in outcome.options],
            variation=outcome.variation,
            reply_source=storable_source(outcome.source),
            follow_up=_binding_json(plan.binding, outcome),
            stance=parse.stance.as_json() if parse.stance else None,
            session_expired=plan.expired,
            nlu_version=models.parser.version,
            generator_version=models.generator.version if models.generator else None,
            latency_ms=(time.perf_counter() - inputs.started) * 1000,
            thread_id=incoming.thread_id,
            message_id=incoming.message_id,
            in_reply_to_id=incoming.in_reply_to_id,
        )

    def _plan(self, inputs: _Inputs[J], read: Snapshot) -> _Plan:
        incoming, parse = inputs.incoming, inputs.parse
        now = incoming.received_at or datetime.now(UTC)
        expired = self._idle(read, now)
        subject = None if expired else read.subject
        trusted = self.trusted(parse)
        binding = None
        form = inputs.form
        if not (trusted and parse.intent in self._controls):
            own = bool(self.script.mentioned({e.label for e in parse.entities}))
            follow_ups = self.script.follow_ups
            binding = bind(incoming.text, form, subject, read.last_reply, follow_ups, own)
        # "and why do they make things up?" is better answered by a trusted intent (limits)
        # than by the subject's general "why": a script answer overrides a trusted intent only
        # when the message asks nothing else ("example?") or picks up the last reply's words.
        if (
            binding is not None
            and binding.answer == "script"
            and trusted
            and form is not None
            and not (form.bare or form.ties_to(read.last_reply))
        ):
            binding = None
        if binding is not None and (
            binding.answer != "thread" or not is_topic(self.script.follow_ups, subject)
        ):
            trusted = False  # the thread, not the classifier, says what the message asks
        plan = _Plan(
            read=read,
            now=now,
            expired=expired,
            state_before=self.script.initial if expired else read.state,
            trusted=trusted,
            # Entity slots fill before the step, so the script's guards can see them.
            slots=self._fill_slots({} if expired else dict(read.slots), parse),
            opted_out=read.opted_out,
            name=display_name(incoming.display_name, incoming.handle),
            subject=subject,
            binding=binding,
        )
        plan.outcome = self._decide(plan, parse) or self._fallback(
            plan, inputs.models.generator, inputs.generated
        )
        return plan

    def _idle(self, read: Snapshot, now: datetime) -> bool:
        """Whether the conversation sat idle past the session timeout (it then starts over)."""
        last = read.last_activity
        return last is not None and now - last > self.session_timeout

    def _fill_slots(self, slots: dict[str, Any], parse: Parse) -> dict[str, Any]:
        for slot in self.script.slots.values():
            value = next((e.value for e in parse.entities if e.label == slot.entity), None)
            if slot.entity and value:
                slots[slot.name] = value
        return slots

    def _decide(self, plan: _Plan, parse: Parse) -> _Outcome | None:
        """The script's answer (or silence); None: the script has none and the fallback answers."""
        state = plan.state_before
        if plan.read.paused:
            return _Outcome(None, "silent", state)
        binding = plan.binding
        if binding is not None and binding.answer != "thread":
            if plan.opted_out:
                return _Outcome(None, "silent", state)
            return self._follow_up(plan, binding)
        mentioned = self.script.mentioned({e.label for e in parse.entities})
        view = self.script.with_lookups(plan.slots)
        view[STANCE_SLOT] = parse.stance.side if parse.stance else "none"
        step = self.machine.step(state, view, parse.intent, mentioned) if plan.trusted else None
        spec = self.script.transition(step.fired) if step and step.fired else None
        if plan.opted_out:
            if spec is None or not spec.opt_in:
                return _Outcome(None, "silent", state)  # opted out: listen, never answer
            plan.opted_out = False
        if spec is not None and step is not None:
            scripted = self._scripted(spec, step.state_after, plan)
            if scripted is not None:
                if spec.opt_out:
                    plan.opted_out = True
                return scripted
        return None

    def _follow_up(self, plan: _Plan, binding: Binding) -> _Outcome | None:
        """The script's answer to a follow-up (or its question back when there is nothing to
        follow up on), in the state the conversation is in; None when only a repeat is left."""
        follow_ups = self.script.follow_ups
        assert follow_ups is not None  # bind() answers from the script only when it has them
        view = self.script.with_lookups(plan.slots)
        if binding.answer == "asked":
            templates = follow_ups.unbound
        else:
            templates = follow_ups.replies[binding.kind or ""]
            view[ANSWER_SLOT] = follow_ups.answer(binding.subject, binding.kind)
        options = ranked(templates, view, plan.read.last_reply, plan.seed, plan.name)
        if not options:
            return None
        return _Outcome(options[0].text, "scripted", plan.state_before, options=options)

    def _next_subject(self, inputs: _Inputs[J], plan: _Plan, outcome: _Outcome) -> str | None:
        """What the thread is about after this turn: the intent the script just answered when
        the script has follow-ups for it, else the topic this message named, else the key
        phrase of an everyday message the fallback answered, else what it was about."""
        follow_ups = self.script.follow_ups
        if follow_ups is not None:
            intent = inputs.parse.intent
            if outcome.tier == "scripted" and plan.binding is None and intent in follow_ups.answers:
                return intent  # "can ai have feelings?" -> "why not?" asks about that answer
            named = {e.label for e in inputs.parse.entities}
            if follow_ups.subject in self.script.mentioned(named):
                return str(plan.slots.get(follow_ups.subject) or "") or plan.subject
        if plan.reset:
            return None  # "restart": the thread starts again
        if plan.binding is None and outcome.tier in ("generated", "canned"):
            phrase = sayable(inputs.act.phrase)
            if phrase is not None:
                return phrase
            # "I haven't been sleeping well lately" moves the thread on to something with no
            # phrase to name it by: UNNAMED, so "how can I fix it?" is read on its own, not
            # asked which AI topic it means. "haha" moves nothing.
            said = len(inputs.incoming.text.split()) >= UNNAMED_AFTER_WORDS
            return UNNAMED if said else plan.subject
        return plan.subject

    def _scripted(self, spec: TransitionSpec, state_after: str, plan: _Plan) -> _Outcome | None:
        slots = plan.slots
        if spec.reset:
            slots.clear()
            plan.reset = True
        # Intent slots ("yes" means optimistic) only count when they answer the script's question.
        for slot in self.script.slots.values():
            if spec.trigger in slot.intents:
                slots[slot.name] = slot.intents[spec.trigger]
        templates = spec.replies or self.script.state_replies.get(state_after, ())
        view = self.script.with_lookups(slots)
        options = ranked(templates, view, plan.read.last_reply, plan.seed, plan.name)
        # Empty: nothing but a repeat (or an empty slot) is left; the generator or a canned line
        # answers instead.
        if not options:
            return None
        return _Outcome(options[0].text, "scripted", state_after, options=options)

    def _canned(self, plan: _Plan) -> list[Option]:
        return ranked(
            self.script.fallback_replies,
            plan.slots,
            plan.read.last_reply,
            plan.seed,
            plan.name,
            "canned",
        )

    def _vary(
        self,
        session: Session,
        window: TextWindow,
        inputs: _Inputs[J],
        plan: _Plan,
        outcome: _Outcome,
    ) -> bool:
        """Swap the reply for the best option the window lets through (X's duplicate rule);
        keep every option ranked on the outcome, canned lines last, for the poster.

        False: every scripted option is taken and the generator's options, which come next,
        are not made yet (the generator runs outside the transaction).
        """
        first = outcome.text or ""
        canned = self._canned(plan)
        if inputs.models.generator is None:  # one look-up covers every option
            chosen = choose(window, session, outcome.options + canned)
        else:  # the generator's options are wanted only when every scripted option is taken
            chosen = choose(window, session, outcome.options, later=[inputs.alternatives, canned])
        if chosen is None:
            return False
        index, options = chosen
        known = {o.text for o in options}
        outcome.options = options + [o for o in canned if o.text not in known]
        outcome.text = options[index].text
        if index > 0:
            outcome.variation = (
                f"{first[:80]!r} was posted lately; sent option {index + 1} "
                f"({options[index].source}) instead"
            )
            outcome.source = None  # it told where the first option came from, not this one
        return True

    def _fallback(
        self, plan: _Plan, generator: ReplyGenerator | None, generated: Generated | None
    ) -> _Outcome | None:
        """The generator's reply, else a canned line; None: the generator has not run yet."""
        rejected = None
        if generator is not None:
            if generated is None:
                return None
            if generated.text:
                options = [Option(generated.text, "generated")]
                return _Outcome(
                    generated.text,
                    "generated",
                    plan.state_before,
                    options=options,
                    source=generated.source,
                )
            rejected = generated.rejected_reason
        options = self._canned(plan)
        text = options[0].text if options else None
        return _Outcome(text, "canned", plan.state_before, rejected, options)

    def _context(self, plan: _Plan, inputs: _Inputs[J]) -> ReplyContext:
        """What the generator conditions on: the last few turns, the topic, the bot's persona
        and acknowledgements of the message written from the bot's own templates.

        A follow-up bound to its thread is handed over standing alone ("any tips about my
        chemistry exam?"): retrieval, the ranker's fit features and the acknowledgements then
        match the thread's subject, not the bare "any tips?" (the LSTM sees the earlier turns
        as well)."""
        read, binding = plan.read, plan.binding
        standing_alone = binding.read_as if binding is not None else None
        text = standing_alone or inputs.incoming.text
        # The message's own act is read once per turn (the thread's subject uses it too).
        act = analyse(standing_alone) if standing_alone else inputs.act
        with self.sessions() as session:
            past = recent_turns(session, read.conversation_id, self.history_turns)
            earlier = [(t.user_text, t.reply_text) for t in past]
            last_stance = past[-1].stance if past else None
        previous = earlier[-1][0] if earlier else None
        side, sure = message_side(inputs.parse.stance, last_stance)
        answered = self._act(plan, act, previous)
        return ReplyContext(
            history=tuple(thread_history(earlier, text)),
            topic=plan.slots.get("topic") or self.script.topic,
            previous_bot_reply=read.last_reply,
            max_chars=TWEET_LIMIT,
            persona=self.script.persona,
            side_of=self._side_of(inputs.models.parser),
            grounded=acknowledgements(
                self.script.acknowledgements, answered, plan.seed, side=side, sure=sure
            ),
            side=side,
            about_bot=answered.act == "question_about_bot",
        )

    def _side_of(self, parser: IntentParser) -> Callable[[str], str] | None:
        """How the fallback reads a candidate's side: where the bot has a stance and the NLU
        model reads stance (a parser without it leaves the stance rule off)."""
        if self.script.persona.stance is None or not isinstance(parser, StanceReader):
            return None
        return parser.side_of if parser.reads_stance else None

    def _act(self, plan: _Plan, act: Act, previous: str | None) -> Act:
        """What the acknowledgements answer: the message's ``act``, read with the message made
        to stand alone where it was bound. After an everyday subject, a follow-up question is the
        thread's own act ("any tips?": the bot says what it can about the exam), and a remark
        that reads as nothing in particular ("I'm kind of nervous about it") answers the
        message that set the subject ("I start a new job on monday": a plan)."""
        binding = plan.binding
        if binding is None or is_topic(self.script.follow_ups, binding.subject):
            return act
        if binding.question:
            return Act(FOLLOW_UP_ACT, "neutral", binding.subject)
        if act.act == "other" and previous is not None:
            return Act(analyse(previous).act, act.sentiment, binding.subject)
        return act

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
            source=turn.reply_source,
            follow_up=turn.follow_up,
            stance=turn.stance,
        )


def _binding_json(binding: Binding | None, outcome: _Outcome) -> dict[str, Any] | None:
    """The turn's record of its follow-up reading: kept where it shaped the reply (a script
    answer or question back, or the fallback reading the message with its subject)."""
    fell_back = outcome.tier in ("generated", "canned")
    if binding is None or (binding.answer == "thread" and not fell_back):
        return None
    return binding.as_json()
