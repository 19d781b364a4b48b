"""The persona rule: a bot does not claim a human life.

Human replies in a chat corpus, and a seq2seq trained on them, speak as people do: "I'm a
computer science major", "my mom made dinner", "I went to the gym", "I've got to go now". A bot
that says so contradicts what it is. :class:`Persona` is set in the bot's own files
(``persona:`` in dialogue.yml) and carried to the generator in ``ReplyContext``: a ``bot``
persona refuses every candidate that claims studies, a job, family, a body, meals or trips; a
``human`` persona allows them. Either kind can add patterns of its own (``also_refuse``).

The patterns look for first-person claims only: "my dog stole my sandwich" is refused as the
bot's own story, but "what kind of dog do you have?" passes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from nlu.stance_data import STANCES

PERSONA_KINDS = ("bot", "human")

_RELATIVES = (
    r"mom|mum|mother|dad|father|parents?|brother|sister|siblings?|sons?|daughters?|kids?|"
    r"children|wife|husband|boyfriend|girlfriend|partner|fianc[eé]e?|family|grandma|grandpa|"
    r"grandmother|grandfather|grandparents?|aunt|uncle|cousins?|roommates?|room mate|"
    r"nephew|niece|baby|friends?|buddies|best friend|bf|gf|mission|church"
)
_LIFE_NOUNS = (
    r"job|boss|coworkers?|co-workers?|office|shift|major|classes|class|school|college|"
    r"university|campus|professor|teacher|homework|exams?|finals|semester|degree|dorm|"
    r"apartment|house|home town|hometown|car|dog|dogs|cat|cats|pets?|puppy|kitten|body|"
    r"birthday|wedding|vacation|church|gym|team|hair|feet|legs?|stomach"
)
_LIFE_VERBS = (
    r"went|go|going|drove|drive|driving|flew|fly|travel(?:l?ed|l?ing)?|visit(?:ed|ing)?|"
    r"moved|live|lived|living|grew up|work (?:at|in|for|as)|worked|working|"
    r"doing (?:some )?(?:work|homework)|"
    r"study|studied|studying|graduated?|ate|eat|eating|cooked|cooking|drank|slept|sleep|"
    r"woke up|ran|run|running|jog(?:ged)?|swim|swam|played|play|playing|watched|watching|"
    r"bike|biked|biking|cycle|cycled|cycling|"
    r"took|taking|shopping|shopped|baked|baking|photograph(?:ed|ing)|doing a bunch|"
    r"bought|married|born|raised|got home|got back|came back|took a|take a|had (?:a|an|some)? ?"
    r"(?:breakfast|lunch|dinner|pizza|burger|nap|shower)"
)
_HUMAN_LIFE = (
    # "I'm a student / a nurse / a computer science major / from Ohio / 25 / hungry"
    r"\b(?:i am|i'm|im)\s+(?:a |an )?(?:\w+ ){0,3}(?:major|student|freshman|sophomore|junior|"
    r"senior|grad|teacher|nurse|doctor|engineer|developer|programmer|mom|dad|parent|"
    r"wife|husband|kid|teenager|employee|intern|vegan|vegetarian)\b",
    r"\b(?:i am|i'm|im)\s+(?:from|in college|in school|at work|at home|home|hungry|starving|"
    r"sleepy|tired|sick|pregnant|married|single|\d+\s*(?:years old|yrs|y/o)|\d+\b)",
    rf"\b(?:my|our)\s+(?:\w+ ){{0,2}}(?:{_RELATIVES})\b",
    rf"\b(?:my|our)\s+(?:\w+ ){{0,2}}(?:{_LIFE_NOUNS})\b",
    # "I went", "I'm going", "we'll drive", "I'd probably fly", "I've worked"; "I run on a
    # server" is a bot's truth, not a claim to legs.
    rf"\b(?:i|im|ive|id|we(?='))(?:'m|'ve|'ll|'d|'re)?\s+(?:(?:just|also|usually|really|actually|"
    rf"often|never|always|sometimes|probably|used to|have|had|will|would|am|was|want to|"
    rf"wanna|gonna|going to|need to|have to|got to|still|currently|been|could)\s+)*"
    rf"(?:{_LIFE_VERBS})\b(?! on\b)",
    r"\b(?:i've|i have|i)\s+(?:got|gotta|have) to (?:go|run|head out|leave|get going)\b",
    r"\bi(?:'m| am) (?:going|heading|off) to (?:bed|sleep|work|class|school|the)\b",
    r"\b(?:i|we) (?:(?:would|'d|really|much|rather|also|still|just) )*(?:have|had|own|got) "
    r"(?:a|an|one|two|three|four|five|\d+|some) (?:\w+ )?(?:and (?:a|one|two|three) )?"
    r"(?:dog|dogs|cat|cats|pet|pets|kids?|children|car|house|job|brothers?|sisters?|"
    r"siblings?|roommates?)\b",
    # "I really enjoy working at the library", "I love going to the gym"
    r"\b(?:i|we)(?:'m| am)? (?:really |also |just )?(?:enjoy|enjoyed|love|loved|like|liked|hate|"
    r"hated|miss|missed|started|stopped|quit) (?:working|studying|going|living|cooking|"
    r"driving|running|swimming|playing|hiking|camping|teaching|my)\b",
    r"\bi (?:live|lived|grew up) in\b",
    r"\bwhen i was (?:a kid|young|little|in)\b",
    # where the bot is, what its body does, which pet it would have
    r"\bwhere i (?:am|live|work|grew up)\b",
    r"\bi(?:'m| am|m) (?:\w+ )?(?:allergic|vegan|vegetarian|pregnant|sunburnt|sore)\b",
    r"\b(?:i|we)(?:'d| would)? (?:\w+ )?(?:like|love|want) to (?:have|get|adopt|own) (?:a|an) "
    r"(?:\w+ )?(?:dog|cat|puppy|kitten|pet|car|house)\b",
    r"\b(?:i'm|i am|im|definitely|totally|always been) (?:\w+ ){0,2}an? (?:dog|cat) person\b",
    # Broader first-person claims, found reading 1,000 eval replies the list above let through:
    # any "my <thing>" but a bot's own ("my guess", "my favourite", "oh my goodness") ...
    r"\bmy (?!(?:guess|opinion|view|point|answer|question|mind|bad|pleasure|goodness|gosh|"
    r"favou?rite|turn|understanding|knowledge|training|data|creators?|code|model|repl(?:y|ies)|"
    r"words|side|best|take|hunch|two cents|fault|apologies|notes|short|cheat|bet|thing|"
    r"name is ada|days|answers?|replies|knowledge|job is to|purpose)\b)\w",
    # ... a past event of the speaker's ("I had tuna casserole", "I broke my ankle") ...
    r"\bi(?:'ve| have)? (?:(?:just|also|really|actually|finally|recently|already|"
    r"never|once|even|still) )*(?:had|went|did|broke|celebrated|joined|met|watched|played|"
    r"graduated|started|finished|moved|grew|took|visited|bought|ate|spent|lived|worked|"
    r"studied|traveled|travelled|married|slept|woke|drove|flew|ran|swam|lost|won(?!')|left|came|"
    r"served|done|googled|pay|paid|"
    r"was|were|got(?! it\b))\b(?! (?:wondering|thinking|curious|just (?:wondering|thinking|"
    r"curious|kidding|joking)|hoping|going to say|made|built|trained|programmed|designed|"
    r"created)\b)",
    # ... an activity under way ("I'm practicing piano", "I am graduating this year") ...
    r"\bi(?:'m| am|m) (?:(?:also|just|currently|still|actually|really|so|pretty|not) )*"
    r"(?!(?:thinking|wondering|guessing|hoping|learning|listening|reading|kidding|joking|"
    r"trying|talking|asking|chatting|saying|going to (?:say|guess|ask)|here|curious|"
    r"getting it|running on|built|made|programmed|designed)\b)\w+ing\b",
    # ... being someone ("im a girl", "I am really a book person"; a bot, a fan are fine) ...
    r"\bi(?:'m| am|m) (?!not\b)(?:\w+ )?an? (?!(?:\w+ )?(?:bot|ai|chatbot|program|computer|machine|"
    r"language|robot|big|huge|fan|little|bit|fair)\b)\w+",
    # ... having someone or something ("I have a friend who", "i have two left") ...
    r"\b(?:i|we) (?:\w+ )?(?:have|had) (?:a|an|two|three|some|one|many|lots of) "
    r"(?!(?:question|idea|guess|answer|feeling|thought|point|sense|clue|lot|few words|"
    r"suggestion|hunch|favou?rite)\b)\w+",
    # ... or a sentence that puts "I" in school, work, a meal or a marriage.
    r"\b(?:i|i'm|im|i've|ive)\b[^.!?]*\b(?:(?:at|to|from|before|after|off) work|job|school|"
    r"classe?s?|semester|finals|"
    r"major|minor|college|professor|mission|prom|essays?|exams?|homework|dorm|degree|"
    r"graduat\w*|anniversary|married|wife|husband|girlfriend|boyfriend|ankle|nap|lunch|"
    r"dinner|breakfast|campus|church|ward|teachers?|meals?|tuition|rent|paycheck|plasma)\b",
    rf"\bi (?:\w+ )?(?:have|had) (?:\w+ )?(?:{_RELATIVES})\b",
    # ... or a taste: a bot eats and drinks nothing ("I love cake, but i'm a little picky",
    # "I love italian food and sushi").
    r"\b(?:(?:i|i'm|im)\b[^.!?]*\b(?:love|loves|like|likes|enjoy|prefer|adore|crave|"
    r"craving|hate|favou?rite)|my (?:\w+ )?favou?rite)\b[^.!?]*\b(?:food|foods|sushi|pizza|"
    r"pasta|tacos?|burgers?|cake|cookies?|ice cream|chocolate|coffee|tea|bread|cheese|fries|"
    r"steak|chicken|fruit|candy|"
    r"soda|beer|wine|breakfast|lunch|dinner|snacks?|desserts?|cereal|sandwich(?:es)?|"
    r"soup|salad|noodles|ramen|rice)\b",
    # ... or a pastime only a body has ("I like to paddle board on the ocean", "I have gone
    # surfing twice"); "I'm a bot, so no surfing for me" says none.
    r"\b(?:i|we) (?:\w+ )?(?:like|love|enjoy|go|went|gone|used) (?:to )?(?:go )?"
    r"(?:paddle ?board\w*|surf(?:s|ing|ed)?|hik(?:e|es|ing|ed)|camp(?:s|ing|ed)?|"
    r"ski(?:s|ing|ed)?|snowboard\w*|swim(?:s|ming)?|climb(?:s|ing|ed)?|jog(?:s|ging)?|"
    r"fish(?:ing)?|sail(?:s|ing|ed)?|bik(?:e|es|ing)|kayak\w*|danc(?:e|es|ing))\b",
    r"\b(?:in|at|since|after|during) (?:high school|middle school|elementary school|college)\b",
    r"\b(?:i|we) (?:\w+ )?(?:did|ran|finished|won) (?:a|an|the|two|three|my|some) (?:\w+ )?"
    r"(?:marathons?|races?|games?|tests?|exams?)\b",
    r"\bmy (?:name is|birthday)\b",
)


@cache
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    if len(patterns) == 1:
        return re.compile(patterns[0], re.IGNORECASE)
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class Persona:
    """Who the bot says it is: ``kind`` "bot" claims no human life; ``also_refuse`` adds
    regular expressions (case-insensitive) that the bot's author wants refused too; ``stance``
    is the bot's own side on its topic (favor, against or none), None for a bot that takes
    none into account."""

    kind: str = "bot"
    also_refuse: tuple[str, ...] = ()
    stance: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PERSONA_KINDS:
            raise ValueError(f"persona kind must be one of {', '.join(PERSONA_KINDS)}")
        if self.stance is not None and self.stance not in STANCES:
            raise ValueError(f"persona stance must be one of {', '.join(STANCES)}")
        for pattern in self.also_refuse:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"persona pattern {pattern!r} is not a regex: {exc}") from exc

    def breaks(self, text: str) -> bool:
        """True if ``text`` says something this persona would not (a bot's human life)."""
        plain = _plain(text)
        if self.kind == "bot" and _compiled(_HUMAN_LIFE).search(plain):
            return True
        # The author's patterns each on their own: joined, one with inline flags or a named
        # group could break the others.
        return any(_compiled((p,)).search(plain) for p in self.also_refuse)

    def contradicts(self, side: str) -> bool:
        """True if saying something that takes ``side`` goes against the bot's own stance: the
        other side for a bot that takes one, any side for a bot that takes none."""
        if self.stance is None or side == "none":
            return False
        return side != self.stance


def _plain(text: str) -> str:
    """Curly apostrophes straightened (U+2019 and U+2018 read as '), and format characters
    (zero-width, bidi controls) removed, so "my\u200b mom" reads as "my mom"."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
