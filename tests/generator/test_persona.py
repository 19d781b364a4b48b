"""The persona rule (generator/persona.py): a bot does not claim a human life."""

from __future__ import annotations

import pytest

from generator.persona import PERSONA_KINDS, Persona
from tests.hostile import NASTY

BOT, HUMAN = Persona("bot"), Persona("human")

HUMAN_LIFE = [
    "I'm a computer science major",
    "I am a nurse",
    "im a junior in college",
    "im from Ohio",
    "I'm 25 years old",
    "I\u2019m hungry",  # a curly apostrophe reads as a straight one
    "I\u2018m a teacher",
    "my mom made dinner",
    # the broader claims found reading 1,000 eval replies
    "Thats really cool my dads the branch president of my branch",
    "Oh what made it awesome? I had tuna casserole.",
    "It's been good, I'm practicing piano right now actually",
    "haha im a girl but its all good",
    "Thats cool, I have a friend who isn't going to byu",
    "I am graduating high school this year with some dual credits.",
    "oh yeah I love soccer but since I broke my ankle I don't play anymore...",
    "i was just talking to someone about parks and rec",
    "I'm currently not working so that's kinda rough",
    "I think it's so sad when I have roommates who don't know how to cook ramen.",
    "My sister lives in Spain",
    "our house is by the lake",
    "my boss is so annoying",
    "I went to the gym this morning",
    "I usually drive to work",
    "I'd probably fly there",
    "we'll travel in spring",
    "I used to play football",
    "I had a pizza for lunch",
    "I've got to go now",
    "I'm going to bed",
    "we have two dogs",
    "I grew up in a small town",
    "when I was a kid I loved trains",
    "my name is Sam",
    "MY BIRTHDAY IS SOON",
    "Robots are cool. My dog is afraid of them though.",
    # tastes
    "I love cake, but i'm a little picky, most cake is too sweet for me.",
    "I love italian food and sushi but really any food I love trying all sorts of new food",
    "i really like chocolate chip cookies",
    "My favorite ice cream would probably be just vanilla. I'm super plain, haha.",
    # pastimes
    "I like to paddle board on the ocean.",
    "I have gone surfing twice but the waves aren't the best",
    "we went camping last summer",
    "I love hiking in the fall",
]

BOT_TRUTHS = [
    "Here's how I work: ask about AI.",
    "I'm a small bot: a classifier, a script and a little neural network.",
    "That one isn't in my notes yet. My guess is no.",
    "I was just wondering what you think.",
    "I'm not a human, I'm a bot.",
    "Okay, I won't reply to you any more.",
    "will robots change how we live in the next five years?",
    "Oh my goodness, that's a good question!",
    "I run on a server",
    "I run on electricity and code",
    "I am a bot",
    "I'm a chatbot that talks about robots",
    "what kind of dog do you have?",
    "do you go to the gym?",
    "your mom sounds lovely",
    "how was your dinner?",
    "tell me about your job",
    "I think robots are fun",
    "I like talking about computers",
    "my favourite topic is robots",
    "do you like pizza?",
    "robots will drive cars one day",
    "I'm a bot, so no surfing for me. What about you?",
    "Oh no, I'm sorry about the hike. How are you holding up?",
    "do you like to go camping?",
    "I like skills that robots learn",
    "",
]


@pytest.mark.parametrize("text", HUMAN_LIFE)
def test_a_bot_refuses_claims_of_a_human_life_a_human_persona_allows(text: str) -> None:
    assert BOT.breaks(text)
    assert not HUMAN.breaks(text)


@pytest.mark.parametrize("text", BOT_TRUTHS)
def test_a_bots_own_truths_and_questions_about_the_user_pass(text: str) -> None:
    assert not BOT.breaks(text)
    assert not HUMAN.breaks(text)


@pytest.mark.parametrize(
    ("own", "side", "contradicts"),
    [
        ("favor", "against", True),
        ("favor", "favor", False),
        ("favor", "none", False),
        ("against", "favor", True),
        ("none", "favor", True),
        ("none", "against", True),
        (None, "against", False),
    ],
)
def test_the_bots_own_stance_rule(own: str | None, side: str, contradicts: bool) -> None:
    assert Persona(stance=own).contradicts(side) is contradicts


def test_the_default_persona_is_a_bot() -> None:
    assert Persona() == BOT and Persona().kind == "bot"
    assert PERSONA_KINDS == ("bot", "human")


def test_also_refuse_adds_the_authors_patterns_to_either_kind() -> None:
    bot = Persona("bot", also_refuse=(r"\bpineapple\b", r"elon\s+musk"))
    human = Persona("human", also_refuse=(r"\bpineapple\b",))
    for persona in (bot, human):
        assert persona.breaks("PINEAPPLE on pizza is fine")  # case-insensitive
        assert not persona.breaks("pineapples are a fruit")  # \b kept
    assert bot.breaks("did Elon   Musk build that robot?")
    assert not human.breaks("did Elon Musk build that robot?")
    assert bot.breaks("my mom made dinner") and not human.breaks("my mom made dinner")
    assert not bot.breaks("I think robots are fun")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "robot"}, "persona kind must be one of bot, human"),
        ({"kind": "Bot"}, "persona kind must be one of bot, human"),
        ({"kind": ""}, "persona kind must be one of bot, human"),
        ({"also_refuse": ("(unclosed",)}, "persona pattern '(unclosed' is not a regex"),
        ({"also_refuse": ("ok", "[z-a]")}, "persona pattern '[z-a]' is not a regex"),
        ({"also_refuse": ("*star",)}, "is not a regex"),
        ({"stance": "pro"}, "persona stance must be one of favor, against, none"),
    ],
)
def test_invalid_kind_or_pattern_is_a_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Persona(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", NASTY)
def test_hostile_text_never_raises(text: str) -> None:
    for persona in (BOT, HUMAN, Persona("bot", also_refuse=(r"evil",))):
        assert persona.breaks(text) in (True, False)
        assert persona.breaks(f"{text} my mom made dinner {text}") == (persona.kind == "bot")


def test_hostile_characters_do_not_hide_a_claim_between_words() -> None:
    # Bidi and zero-width characters around the words, not inside them, leave the claim seen.
    assert BOT.breaks("\u202emy mom made dinner\u202c")
    assert BOT.breaks("\ud800 I went to the gym \u200b")


@pytest.mark.parametrize(
    "patterns", [("(?i)pineapple",), ("(?P<fruit>pineapple)", "(?P<fruit>mango)")]
)
def test_patterns_valid_alone_work_together(patterns: tuple[str, ...]) -> None:
    persona = Persona("bot", also_refuse=patterns)
    assert persona.breaks("pineapple pizza")
    assert not persona.breaks("robots are fun")
