"""Grounded acknowledgements (agent/core/grounded.py) and Ada's templates for them."""

from __future__ import annotations

import pytest

from agent.core.grounded import PHRASE_MAX_CHARS, acknowledgements
from agent.core.script import FOLLOW_UP_ACT, PHRASE_SLOT, DialogueScript, template_fields
from generator.evaluate import has_stock_phrase
from nlu.acts import ACTS, Act, analyse
from nlu.stance_data import SIDES

TEMPLATES = {
    "bad_news": (
        "Sorry about {phrase}.",
        "Oh no, {phrase}!",
        "What happened to {phrase}?",
        "Sorry to hear that.",
        "That sounds hard.",
    )
}
BAD = "my dog just stole my sandwich"


def test_phrase_templates_come_first_and_are_filled() -> None:
    found = acknowledgements(TEMPLATES, analyse(BAD), "c1:1")
    assert len(found) == 3
    assert all("your sandwich" in text for text in found)


def test_without_a_phrase_only_phrase_free_templates_are_used() -> None:
    found = acknowledgements(TEMPLATES, Act("bad_news", "negative", None), "c1:1")
    assert sorted(found) == ["Sorry to hear that.", "That sounds hard."]


def test_acts_that_need_their_phrase_get_nothing_without_it() -> None:
    templates = {"news": ("Huh, {phrase}!", "Huh, and then what happened?")}
    assert acknowledgements(templates, Act("news", "neutral", None), "c1:1") == ()
    found = acknowledgements(templates, Act("news", "neutral", "the new dune movie"), "c1:1")
    assert found[0] == "Huh, the new dune movie!"


@pytest.mark.parametrize(
    "phrase", ["x" * (PHRASE_MAX_CHARS + 1), "your shit", "me@example.com", "http://x.io"]
)
def test_long_or_unsayable_phrases_are_not_said_back(phrase: str) -> None:
    found = acknowledgements(TEMPLATES, Act("bad_news", "negative", phrase), "c1:1")
    assert found and all(phrase not in text for text in found)
    assert set(found) <= set(TEMPLATES["bad_news"])


def test_the_choice_is_seeded_per_conversation_and_turn() -> None:
    act = analyse(BAD)
    assert acknowledgements(TEMPLATES, act, "c1:1") == acknowledgements(TEMPLATES, act, "c1:1")
    seen = {acknowledgements(TEMPLATES, act, f"c1:{turn}", limit=1) for turn in range(30)}
    assert len(seen) == 3  # every phrase template gets its turn


def test_acts_without_templates_get_none() -> None:
    assert acknowledgements(TEMPLATES, analyse("lol"), "c1:1") == ()
    assert acknowledgements({}, analyse(BAD), "c1:1") == ()


@pytest.mark.parametrize(
    "message",
    [
        "my dog just stole my \ud800sandwich",
        "my dog \u202ejust\u202c stole my sandwich\u2066",
        "my\u200d dog just stole my sandwich\u200b\ufeff",
    ],
)
def test_hostile_characters_never_reach_an_acknowledgement(message: str) -> None:
    found = acknowledgements(TEMPLATES, analyse(message), "c1:1")
    assert found == acknowledgements(TEMPLATES, analyse(BAD), "c1:1")


MESSAGES = [
    BAD, "I just finished a marathon", "my dad got a new job", "I had pizza for dinner",
    "I hate mondays", "I'm planning a trip to Japan", "do you have a dog?", "how are you?",
    "what is the capital of France?", "I think AI is overrated", "I'm so happy today",
    "I got fired", "tomorrow I'll finally start learning Python",
]  # fmt: skip


def test_ada_acknowledges_every_act_but_other_and_each_side(script: DialogueScript) -> None:
    acts = script.acknowledgements
    assert set(acts) == set(ACTS) - {"other"} | {FOLLOW_UP_ACT} | set(SIDES)
    for act, templates in acts.items():
        needs = [PHRASE_SLOT in template_fields(t) for t in templates]
        if act in SIDES:  # said whatever the message's phrase: never one said back
            assert not any(needs) and len(templates) >= 6, act
        else:
            assert sum(needs) >= 4 and needs.count(False) >= 2, act
        assert not any(map(has_stock_phrase, templates)), act
        assert all(not script.persona.breaks(t) and len(t) <= 200 for t in templates), act


@pytest.mark.parametrize("message", MESSAGES)
def test_ada_acknowledgements_stay_in_persona(script: DialogueScript, message: str) -> None:
    for turn in range(5):
        found = acknowledgements(script.acknowledgements, analyse(message), f"c9:{turn}")
        assert found, message
        for text in found:
            assert not script.persona.breaks(text) and not has_stock_phrase(text), text
            assert len(text) <= 200 and "{" not in text


SIDED = {
    **TEMPLATES,
    "against": ("Fair worry. I'm still hopeful.", "You have a point. Still, I like it."),
    "favor": ("Agreed, with a caveat.", "Me too! Check its work, though."),
    "opinion": ("Interesting take on {phrase}.", "Fair enough! What got you thinking that?"),
}


def test_a_message_sure_of_its_side_gets_all_that_sides_lines_shuffled() -> None:
    act = analyse(BAD)  # whatever the message does, its side decides
    drawn = [acknowledgements(SIDED, act, f"c1:{n}", side="against", sure=True) for n in range(20)]
    assert all(sorted(lines) == sorted(SIDED["against"]) for lines in drawn)
    assert {lines[0] for lines in drawn} == set(SIDED["against"])  # each line comes first
    favor = acknowledgements(SIDED, act, "c1:1", side="favor", sure=True)
    assert sorted(favor) == sorted(SIDED["favor"])
    # A script without lines for the side answers the act, as before.
    assert acknowledgements(TEMPLATES, act, "c1:1", side="favor", sure=True) == (
        acknowledgements(TEMPLATES, act, "c1:1")
    )


def test_a_message_that_only_leans_gets_its_acts_lines_else_an_opinions() -> None:
    leaning = acknowledgements(SIDED, analyse(BAD), "c1:1", side="against")
    assert leaning == acknowledgements(SIDED, analyse(BAD), "c1:1")  # its act has lines
    silent = Act("news", "neutral", None)  # news needs its phrase: nothing of its own
    assert acknowledgements(SIDED, silent, "c1:1") == ()
    assert acknowledgements(SIDED, silent, "c1:1", side="favor") == (
        "Fair enough! What got you thinking that?",  # only those without a phrase
    )
