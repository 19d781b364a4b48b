"""A turn decides and generates holding no lock, then writes guarded by the conversation's
version: other turns run meanwhile, and one that moved the conversation makes it decide again."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.core.messages import Incoming, Reply
from agent.core.pipeline import REFUSED, Agent, Refused
from agent.storage.models import Conversation, Turn
from generator.types import Generated, ReplyContext

GENERATED = "Pizza is a fine thing to think about, but I mostly think about robots."


class MeanwhileGenerator:
    """A generator that runs ``meanwhile`` (other turns, in another thread) once, while it
    generates: they can only finish if generating holds no lock they need."""

    version = "meanwhile-1"

    def __init__(self) -> None:
        self.contexts: list[ReplyContext] = []
        self.meanwhile: Callable[[], None] | None = None

    def reply(self, context: ReplyContext) -> Generated:
        self.contexts.append(context)
        if self.meanwhile is not None:
            action, self.meanwhile = self.meanwhile, None
            failed: list[BaseException] = []

            def run() -> None:
                try:
                    action()
                except BaseException as exc:  # re-raised in the test's thread below
                    failed.append(exc)

            other = threading.Thread(target=run)
            other.start()
            other.join(timeout=30)
            assert not other.is_alive(), "the other turn waited for this generation"
            if failed:
                raise failed[0]
        return Generated(GENERATED)


def say(agent: Agent, text: str, user: str = "alice") -> Reply:
    return agent.handle(Incoming(channel="test", user_id=user, text=text))


def logged(engine: Engine) -> list[Turn]:
    with Session(engine) as session:
        return list(session.scalars(select(Turn).order_by(Turn.id)))


def test_a_generation_holds_up_no_other_turn(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    slow = MeanwhileGenerator()
    agent = make_agent(engine, generator=slow)
    others: list[Reply] = []
    slow.meanwhile = lambda: others.append(say(agent, "hello", user="bob"))
    reply = say(agent, "order me a pizza")
    assert (reply.tier, reply.text) == ("generated", GENERATED)
    assert others[0].tier == "scripted"
    bob, alice = logged(engine)
    assert (bob.id, alice.id) == (others[0].turn_id, reply.turn_id)  # bob's was saved first


def test_a_moved_conversation_is_decided_again_keeping_the_generation(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    slow = MeanwhileGenerator()
    agent = make_agent(engine, generator=slow)
    slow.meanwhile = lambda: say(agent, "hello")  # the same user, while the reply generates
    reply = say(agent, "order me a pizza")
    assert (reply.tier, reply.text) == ("generated", GENERATED)
    assert len(slow.contexts) == 1  # still a fallback in the new state: not generated again
    first, second = logged(engine)
    assert (first.user_text, second.user_text) == ("hello", "order me a pizza")
    assert second.state_before == first.state_after == "asked_topic"
    with Session(engine) as session:
        conv = session.scalars(select(Conversation)).one()
    assert (conv.state, conv.version, conv.last_reply) == (reply.state, 3, GENERATED)


def test_a_decision_that_changes_underneath_is_the_new_one(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    slow = MeanwhileGenerator()
    agent = make_agent(engine, generator=slow)

    def meanwhile() -> None:
        say(agent, "hello")
        say(agent, "I'm interested in machine learning")

    slow.meanwhile = meanwhile
    reply = say(agent, "yes")  # nothing to agree to yet: a fallback, until the question comes
    assert (reply.tier, reply.state) == ("scripted", "chatting")
    assert reply.text != GENERATED
    assert [t.state_after for t in logged(engine)] == ["asked_topic", "asked_opinion", "chatting"]


def test_a_record_that_refuses_saves_nothing_of_the_turn(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    say(agent, "hello")
    seen: list[Turn] = []

    def refuse(session: Session, turn: Turn) -> Refused:
        seen.append(turn)
        return REFUSED

    incoming = Incoming(channel="test", user_id="alice", text="I'm interested in robotics")
    assert agent.answer(incoming, refuse) is None
    assert seen and seen[0].reply_text  # the record saw the turn it refused
    (only,) = logged(engine)
    with Session(engine) as session:
        conv = session.scalars(select(Conversation)).one()
    assert (conv.state, conv.version) == (only.state_after, 2)


def test_answer_hands_back_what_the_committed_record_returned(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine)
    incoming = Incoming(channel="test", user_id="alice", text="hello")
    answered = agent.answer(incoming, lambda session, turn: f"job for turn {turn.id}")
    assert answered is not None
    reply, job = answered
    assert job == f"job for turn {reply.turn_id}"
