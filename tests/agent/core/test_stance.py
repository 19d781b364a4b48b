"""The message's stance in a turn: recorded, branched on by the script, and handed to the
fallback with the bot's own side (the shipped NLU model and Ada's script)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, inspect

from agent.core.pipeline import Agent
from agent.core.script import DialogueScript
from agent.storage import migrate
from nlu.stance_data import STANCES
from tests.agent.core.test_pipeline import RefusingGenerator, say, turns

SKEPTIC = "AI is overrated, it makes so many mistakes"


def test_a_skeptic_gets_the_branch_that_engages_the_objection(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    reply = say(make_agent(engine), SKEPTIC)
    assert reply.stance is not None and (reply.stance["label"], reply.stance["sure"]) == (
        "against",
        True,
    )
    assert 0.5 < reply.stance["confidence"] <= 1.0
    against = next(
        t
        for t in script.transitions
        if t.trigger == reply.intent and "stance_is_against" in t.conditions
    )
    assert reply.tier == "scripted" and reply.text in against.replies
    (turn,) = turns(engine)
    assert turn.stance == reply.stance  # stored on the turn as the API reports it


def test_the_same_question_without_a_side_gets_the_plain_answer(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    reply = say(make_agent(engine), "why does ai make mistakes?")
    assert reply.stance is not None and not (
        reply.stance["sure"] and reply.stance["label"] != "none"
    )
    fired = [t for t in script.transitions if reply.text in t.replies]
    assert fired and not any(c.startswith("stance_is_") for c in fired[0].conditions)


def test_the_fallback_reads_candidates_against_the_bots_own_side(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    refusing = RefusingGenerator()
    say(make_agent(engine, generator=refusing), "my dog just stole my sandwich")
    (context,) = refusing.contexts
    assert context.persona.stance == script.persona.stance == "favor"
    assert context.side_of is not None
    assert context.side_of(SKEPTIC) == "against"
    assert all(context.side_of(t) in STANCES for t in ("", "\u202e\u200b", "🤖" * 200))


def test_turns_outlive_a_downgrade_past_stance(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    say(make_agent(engine), SKEPTIC)
    migrate.downgrade(engine, "0011")
    assert "stance" not in {c["name"] for c in inspect(engine).get_columns("turns")}
    migrate.upgrade(engine)
    (turn,) = turns(engine)
    assert turn.user_text == SKEPTIC and turn.stance is None  # as for turns logged before


def test_a_fallback_message_sure_of_its_side_gets_the_bots_line_for_that_side(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    refusing = RefusingGenerator()
    agent = make_agent(engine, generator=refusing)
    say(agent, "ai art is theft and it's ruining illustrators")
    say(agent, "then why use it at all")  # no side of its own: the thread's, unsure
    sure, leaning = refusing.contexts
    assert sure.side == "against"
    assert sorted(sure.grounded) == sorted(script.acknowledgements["against"])
    assert leaning.side == "against"
    assert leaning.grounded and not set(leaning.grounded) & set(script.acknowledgements["against"])


def test_small_talk_takes_no_side(
    engine: Engine, make_agent: Callable[..., Agent], script: DialogueScript
) -> None:
    refusing = RefusingGenerator()
    say(make_agent(engine, generator=refusing), "my dog just stole my sandwich")
    (context,) = refusing.contexts
    assert context.side == "none"
    sides = set(script.acknowledgements["against"]) | set(script.acknowledgements["favor"])
    assert context.grounded and not set(context.grounded) & sides
