from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from agent.core.messages import Incoming, MessageRejected, Reply
from agent.core.pipeline import Agent
from agent.core.replies import fill
from agent.core.script import DialogueScript
from agent.storage.models import Conversation, Turn, User
from generator.types import Generated, ReplyContext
from nlu.types import IntentScore, Parse


def say(agent: Agent, text: str, user: str = "alice", **extra: object) -> Reply:
    return agent.handle(Incoming(channel="test", user_id=user, text=text, **extra))


def turns(engine: Engine) -> list[Turn]:
    with Session(engine) as session:
        return list(session.scalars(select(Turn).order_by(Turn.id)))


def conversation(engine: Engine, user: str = "alice") -> Conversation:
    with Session(engine) as session:
        return session.scalars(
            select(Conversation).join(User).where(User.external_id == user)
        ).one()


def test_scripted_dialogue_survives_a_restart(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    first = make_agent(engine)
    reply = say(first, "hello")
    assert (reply.intent, reply.tier, reply.state) == ("greet", "scripted", "asked_topic")
    reply = say(first, "I'm interested in machine learning")
    assert reply.state == "asked_opinion"
    assert "machine learning" in (reply.text or "")
    restarted = make_agent(engine)  # a new process: everything comes from the database
    reply = say(restarted, "yes")
    assert (reply.state, reply.tier) == ("chatting", "scripted")
    saved = conversation(engine)
    assert saved.state == "chatting"
    assert saved.slots == {"topic": "machine learning", "opinion": "optimistic"}


def test_every_turn_is_logged_in_full(engine: Engine, make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(engine)
    reply = say(agent, "hello", thread_id="th1", message_id="m1", in_reply_to_id="m0")
    (turn,) = turns(engine)
    assert turn.id == reply.turn_id
    assert (turn.user_text, turn.reply_text) == ("hello", reply.text)
    assert (turn.intent, turn.trusted, turn.tier) == ("greet", True, "scripted")
    assert 0.0 < turn.confidence <= 1.0
    assert turn.alternatives[0]["name"] == "greet"
    assert (turn.state_before, turn.state_after) == ("idle", "asked_topic")
    assert (turn.thread_id, turn.message_id, turn.in_reply_to_id) == ("th1", "m1", "m0")
    assert turn.nlu_version == agent.parser.version
    assert turn.latency_ms > 0


def test_out_of_scope_gets_a_canned_line_without_a_generator(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    reply = say(make_agent(engine), "order me a pizza")
    assert reply.tier == "canned"
    assert reply.text in script.fallback_replies
    assert reply.state == script.initial


def test_intent_not_valid_in_this_state_falls_back(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    reply = say(make_agent(engine), "yes")  # affirm means nothing before a question
    assert reply.intent == "affirm"
    assert (reply.tier, reply.state) == ("canned", "idle")


class RefusingGenerator:
    """A generator whose every candidate fails the guard, to exercise the canned tier."""

    version = "refusing-1"

    def __init__(self) -> None:
        self.contexts: list[ReplyContext] = []

    def reply(self, context: ReplyContext) -> Generated:
        self.contexts.append(context)
        return Generated(None, "profanity")


def test_generator_gets_history_and_its_rejection_is_recorded(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    refusing = RefusingGenerator()
    agent = make_agent(engine, generator=refusing)
    first = say(agent, "hello")
    reply = say(agent, "order me a pizza")
    assert (reply.tier, reply.rejected_reason) == ("canned", "profanity")
    context = refusing.contexts[-1]
    assert context.history == ("hello", first.text, "order me a pizza")
    assert context.previous_bot_reply == first.text
    assert context.topic == "artificial intelligence"
    assert turns(engine)[-1].generator_version == "refusing-1"


def test_a_fallback_turn_hands_the_generator_persona_and_grounded_acknowledgements(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    refusing = RefusingGenerator()
    reply = say(make_agent(engine, generator=refusing), "my dog just stole my sandwich")
    assert reply.tier == "canned"  # the script had no answer: the generator was asked
    (context,) = refusing.contexts
    assert context.persona == script.persona and context.persona.kind == "bot"
    ada = {fill(t, {"phrase": "your sandwich"}) for t in script.acknowledgements["bad_news"]}
    assert 1 <= len(context.grounded) <= 3 and set(context.grounded) <= ada
    assert all("your sandwich" in text for text in context.grounded)
    assert not context.about_bot


def test_a_question_about_the_bot_is_marked_for_the_generator(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    refusing = RefusingGenerator()
    say(make_agent(engine, generator=refusing), "do you have any brothers or sisters?")
    (context,) = refusing.contexts
    assert context.about_bot and context.grounded
    # Ada's answers about herself, each saying she is a bot.
    assert all("bot" in text.lower() for text in context.grounded)


def test_opt_out_is_confirmed_once_and_start_opts_back_in(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    say(agent, "hello")
    confirmation = say(agent, "stop")
    assert confirmation.tier == "scripted"
    assert confirmation.text in agent.script.transition("global:stop").replies
    for text in ("hello", "stop", "what can you do?"):
        silent = say(agent, text)
        assert (silent.text, silent.tier) == (None, "silent")
    back = say(agent, "start")
    assert back.text and back.state == "idle"
    assert say(agent, "hello").tier == "scripted"
    assert len(turns(engine)) == 7  # silent turns are logged too: nothing is lost


def test_paused_user_gets_no_reply(engine: Engine, make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(engine)
    say(agent, "hello")
    with Session(engine) as session, session.begin():
        session.scalars(select(User)).one().paused = True
    assert say(agent, "help").tier == "silent"


def test_session_timeout_resets_the_conversation(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    say(agent, "hello", received_at=start)
    say(agent, "I'm interested in robotics", received_at=start + timedelta(minutes=5))
    late = say(agent, "yes", received_at=start + timedelta(minutes=40))
    assert late.state == "idle"  # the question expired, so "yes" answers nothing
    last = turns(engine)[-1]
    assert last.session_expired
    assert last.state_before == "idle"
    assert conversation(engine).slots == {}


def test_reply_variants_never_repeat_back_to_back(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    replies = [say(agent, "thanks").text for _ in range(8)]
    assert all(a != b for a, b in itertools.pairwise(replies))
    assert len(set(replies)) > 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "message is empty"),
        ("   \n\t ", "message is empty"),
        ("\u200b\u200d\u2060", "message is empty"),
        ("a" * 10_001, "10,001 characters long; the limit is 10,000"),
        # Valid JSON ("\\ud800") but no character: no database or tokenizer can encode it.
        ("hi \ud800 there", "lone surrogate \\(U\\+D800\\)"),
        ("\udfff", "lone surrogate \\(U\\+DFFF\\)"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_half_saved(
    engine: Engine, make_agent: Callable[..., Agent], text: str, message: str
) -> None:
    with pytest.raises(MessageRejected, match=message):
        say(make_agent(engine), text)
    assert turns(engine) == []


@pytest.mark.parametrize(
    "text",
    [
        "hello 👋🏽👩‍💻",
        "hel\u200blo",
        "مرحبا hello \u202eolleh",
        "hi\x00 there",
        "a" * 10_000,
    ],
)
def test_unusual_text_is_answered_and_kept(
    engine: Engine, make_agent: Callable[..., Agent], text: str
) -> None:
    reply = say(make_agent(engine), text)
    assert reply.text
    (turn,) = turns(engine)
    assert turn.user_text == text.replace("\x00", "\ufffd")


def test_settings_thresholds_override_the_models_decision(
    make_agent: Callable[..., Agent], sqlite_engine: Engine
) -> None:
    parse = Parse("x", (IntentScore("greet", 0.6), IntentScore("thanks", 0.3)), trusted=True)
    assert make_agent(sqlite_engine).trusted(parse)
    strict = make_agent(sqlite_engine, threshold=0.7)
    assert not strict.trusted(parse)
    narrow = make_agent(sqlite_engine, threshold=0.5, margin=0.4)
    assert not narrow.trusted(parse)
    assert make_agent(sqlite_engine, margin=0.2).trusted(parse)


def test_overriding_one_value_with_the_models_own_changes_no_decision(
    make_agent: Callable[..., Agent], sqlite_engine: Engine
) -> None:
    agent = make_agent(sqlite_engine)
    own = agent.parser.parse("hello").gate
    assert own is not None
    texts = [
        "hello",
        "I love robots",
        "qzx vvk plonk",
        "asdf jkl",
        "x y z",
        "maybe",
        "what is the weather on mars",
    ]
    parses = [agent.parser.parse(t) for t in texts]
    assert {p.trusted for p in parses} == {True, False}  # both kinds of decision are covered
    for override in ({"threshold": own.threshold}, {"margin": own.margin}):
        overridden = make_agent(sqlite_engine, **override)
        assert [overridden.trusted(p) for p in parses] == [p.trusted for p in parses]


def test_each_user_has_their_own_conversation(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    say(agent, "hello", user="alice")
    assert say(agent, "hello", user="bob").state == "asked_topic"
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 2


def test_swapped_models_answer_from_the_next_turn(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    say(agent, "hello")
    refusing = RefusingGenerator()
    agent.swap_models(generator=refusing)
    reply = say(agent, "order me a pizza")
    assert reply.rejected_reason == "profanity"
    assert agent.parser is not None  # the parser was kept
    assert [t.generator_version for t in turns(engine)] == [None, "refusing-1"]
