"""Follow-ups read with their thread, through the agent with Ada's script and NLU on a real
database (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from agent.core.messages import Reply
from agent.core.pipeline import Agent
from agent.core.replies import fill
from agent.core.script import DialogueScript
from agent.storage.models import Conversation
from generator.types import Generated, ReplyContext
from tests.agent.core.test_pipeline import conversation, say, turns


class RecordingGenerator:
    """Answers with a fixed line and keeps what it was asked, to see the context it got."""

    version = "recording-1"

    def __init__(self) -> None:
        self.contexts: list[ReplyContext] = []

    def reply(self, context: ReplyContext) -> Generated:
        self.contexts.append(context)
        return Generated(f"generated {len(self.contexts)}", source={"kind": "generated"})


def framed(script: DialogueScript, subject: str, kind: str) -> set[str]:
    follow_ups = script.follow_ups
    assert follow_ups is not None
    answer = follow_ups.answers[subject][kind]
    return {fill(t, {"answer": answer}) for t in follow_ups.replies[kind]}


def test_a_pronoun_binds_to_the_topic_just_answered(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    agent = make_agent(engine)
    first = say(agent, "what is computer vision?")
    assert first.intent == "ask_definition" and first.tier == "scripted"
    assert conversation(engine).subject == "computer vision"
    reply = say(agent, "where is it used?")
    assert reply.tier == "scripted"
    assert reply.text in framed(script, "computer vision", "uses")
    assert reply.follow_up == {"kind": "uses", "subject": "computer vision", "answer": "script"}
    assert turns(engine)[-1].follow_up == reply.follow_up
    assert not reply.trusted  # the thread, not the classifier, decided
    assert reply.state == first.state  # a follow-up moves nothing


def test_the_classifiers_unrelated_intent_does_not_answer_a_follow_up(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    agent = make_agent(engine)
    say(agent, "tell me about reinforcement learning")
    reply = say(agent, "can you give an example?")  # once answered with the privacy text
    assert reply.text in framed(script, "reinforcement learning", "example")


def test_a_new_topic_named_in_a_follow_up_is_its_own_subject(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    say(agent, "what is deep learning?")
    reply = say(agent, "what about robotics?")
    assert reply.follow_up is None
    assert conversation(engine).subject == "robotics"


@pytest.mark.parametrize("state", ["idle", "asked_topic", "asked_opinion", "chatting"])
def test_a_follow_up_in_each_state_answers_and_stays(
    state: str, engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    agent = make_agent(engine)
    say(agent, "what is machine learning?")
    with Session(engine) as session, session.begin():
        session.execute(update(Conversation).values(state=state))
    reply = say(agent, "example?")
    assert reply.text in framed(script, "machine learning", "example")
    assert reply.state == state


def test_a_follow_up_with_nothing_before_it_is_asked_back(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    assert script.follow_ups is not None
    agent = make_agent(engine)
    for text, user in (("where is it used?", "new1"), ("why?", "new2"), ("example?", "new3")):
        reply = say(agent, text, user=user)
        assert reply.text in script.follow_ups.unbound
        assert reply.follow_up == {
            "kind": reply.follow_up["kind"],
            "subject": None,
            "answer": "asked",
        }


def test_the_thread_forgets_its_subject_when_the_session_times_out(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    assert script.follow_ups is not None
    agent = make_agent(engine, session_timeout_minutes=30)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    say(agent, "what is computer vision?", received_at=start)
    later = say(agent, "where is it used?", received_at=start + timedelta(hours=2))
    assert later.text in script.follow_ups.unbound


def test_stop_is_stop_whatever_the_thread(engine: Engine, make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(engine)
    say(agent, "what is computer vision?")
    reply = say(agent, "stop")
    assert reply.intent == "stop" and reply.follow_up is None
    assert say(agent, "where is it used?").text is None  # opted out: silent


def test_restart_clears_the_subject(engine: Engine, make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(engine)
    say(agent, "what is computer vision?")
    assert say(agent, "restart").intent == "restart"
    assert conversation(engine).subject is None


def test_a_follow_up_after_an_answered_question_asks_about_that_answer(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    agent = make_agent(engine)
    first = say(agent, "can ai have feelings?")
    assert first.intent == "ask_sentience"
    assert conversation(engine).subject == "ask_sentience"
    reply = say(agent, "why not?")
    assert reply.text in framed(script, "ask_sentience", "why")


def test_an_everyday_follow_up_reaches_the_fallback_with_its_subject(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    recording = RecordingGenerator()
    agent = make_agent(engine, generator=recording)
    say(agent, "I just adopted a puppy")
    assert conversation(engine).subject == "your puppy"
    reply = say(agent, "any name ideas?")
    assert reply.tier == "generated" and not reply.trusted
    context = recording.contexts[-1]
    assert context.history[-1] == "any name ideas about my puppy?"
    ada = {fill(t, {"phrase": "your puppy"}) for t in script.acknowledgements["follow_up"]}
    assert context.grounded and set(context.grounded) <= ada
    assert reply.follow_up == {
        "kind": None,
        "subject": "your puppy",
        "answer": "thread",
        "read_as": "any name ideas about my puppy?",
    }
    assert turns(engine)[-1].user_text == "any name ideas?"  # the log keeps what was said


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "what is machine learning?",
        "I just adopted a puppy",
        "are you a bot?",
        "do you think AI will take our jobs?",
        "stop",
        "how do chatbots work?",
    ],
)
def test_a_first_message_is_read_as_before(
    text: str, engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    def first(agent: Agent, user: str) -> Reply:
        return say(agent, text, user=user)

    with_follow_ups = first(make_agent(engine), "with")
    plain = make_agent(engine)
    plain.script = dataclasses.replace(script, follow_ups=None)
    without = first(plain, "without")
    assert with_follow_ups.follow_up is None
    assert (with_follow_ups.intent, with_follow_ups.tier, with_follow_ups.state) == (
        without.intent,
        without.tier,
        without.state,
    )
    assert with_follow_ups.trusted == without.trusted


def test_an_everyday_message_without_a_phrase_moves_the_thread_on(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    assert script.follow_ups is not None
    agent = make_agent(engine, generator=RecordingGenerator())
    say(agent, "what is computer vision?")
    say(agent, "haha")  # too short to move the thread: it is still about computer vision
    assert conversation(engine).subject == "computer vision"
    say(agent, "I haven't been sleeping well lately")
    reply = say(agent, "how can I fix it?")  # not about computer vision, and no AI topic asked
    assert reply.follow_up is None and reply.text not in script.follow_ups.unbound


def test_an_everyday_remark_on_the_subject_is_acknowledged_as_its_thread(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    recording = RecordingGenerator()
    agent = make_agent(engine, generator=recording)
    say(agent, "I start a new job on monday")  # a plan
    say(agent, "I'm kind of nervous about it")  # says nothing the acts know: the plan answers
    context = recording.contexts[-1]
    assert context.history[-1] == "I'm kind of nervous about the new job"
    ada = {fill(t, {"phrase": "the new job"}) for t in script.acknowledgements["plan"]}
    assert context.grounded and set(context.grounded) <= ada
