"""Grounded acknowledgements: the bot's own templates, filled with what the message said.

When the script has no answer, the hybrid fallback ranks these beside retrieved and generated
replies (``ReplyContext.grounded``). The message's dialogue act (nlu/acts.py) picks the
templates (``acknowledgements:`` in dialogue.yml); ``{phrase}`` says its key phrase back, so
"my dog just stole my sandwich" can get "Oh no, I'm sorry about your sandwich."
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from agent.core.replies import fill
from agent.core.script import PHRASE_SLOT, template_fields
from generator import guard
from nlu.acts import Act

# A longer phrase is the analyser's chunking gone astray, and would crowd a tweet.
PHRASE_MAX_CHARS = 40
# Enough for the ranker to choose from; more would be the same act's phrasings again.
GROUNDED_MAX = 3
# Acts whose templates without the phrase say nothing of the message ("Huh, and then what
# happened?"): read blind, such a line was filler, and it won over retrieved replies that
# did answer. Good or bad news, a complaint, a plan or a question about the bot keep theirs:
# "Oh no, I'm sorry to hear that" answers the news even without naming it.
NEEDS_PHRASE = frozenset({"news", "opinion", "question"})
# What a message that leans to a side argues, when its own act has no acknowledgement.
ARGUED = "opinion"


def acknowledgements(
    templates: Mapping[str, Sequence[str]],
    act: Act,
    seed: str,
    limit: int = GROUNDED_MAX,
    side: str = "none",
    sure: bool = False,
) -> tuple[str, ...]:
    """Up to ``limit`` acknowledgements of a message with ``act``, those that say its phrase
    back first; seeded per conversation and turn, so a replayed turn gets the same ones.

    A message that argues ``side`` (favor or against) gets the side's templates when the NLU
    is ``sure`` of it and the script has them: the bot's own answer to that side. One that
    only leans to a side, and whose act has nothing to say, is answered as an opinion: the
    templates that say no phrase ("Interesting take. What made you see it that way?"). Both
    come all of them, shuffled per turn: the fallback keeps this order for them (the lines are
    equally apt, and the ranker's would favour one line for everybody), and on X the next
    serves where the first was posted lately.
    """
    phrase = sayable(act.phrase)
    rng = random.Random(seed)
    if sure and side in templates:
        return _pick(templates[side], None, rng, len(templates[side]))
    found = () if phrase is None and act.act in NEEDS_PHRASE else templates.get(act.act, ())
    chosen = _pick(found, phrase, rng, limit)
    if not chosen and side != "none":
        argued = templates.get(ARGUED, ())
        chosen = _pick(argued, None, rng, len(argued))
    return chosen


def _pick(
    templates: Sequence[str], phrase: str | None, rng: random.Random, limit: int
) -> tuple[str, ...]:
    """Up to ``limit`` of ``templates`` filled with ``phrase``, those that say it first; with
    no phrase, only those that need none."""
    with_phrase, without = [], []
    for template in templates:
        (with_phrase if PHRASE_SLOT in template_fields(template) else without).append(template)
    rng.shuffle(with_phrase)
    rng.shuffle(without)
    chosen = [*(with_phrase if phrase else ()), *without][:limit]
    return tuple(fill(template, {PHRASE_SLOT: phrase}) for template in chosen)


def sayable(phrase: str | None) -> str | None:
    """The phrase, unless it is too long or the reply guard refuses it (profanity, links,
    personal data): the bot must not say those back."""
    if phrase is None or len(phrase) > PHRASE_MAX_CHARS or guard.check(phrase) is not None:
        return None
    return phrase
