"""The request and result of one generated reply, and the interface the agent relies on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from generator.persona import Persona
from generator.tweetlen import TWEET_LIMIT


@dataclass(frozen=True)
class ReplyContext:
    """What the generator may condition on.

    ``history`` holds the last turns oldest first, alternating speakers and ending with the
    user's message; ``max_chars`` is the budget left after the ``@handle`` prefix, counted the
    way Twitter counts characters. ``persona`` is the bot's rule for what it may say about
    itself; ``grounded`` holds acknowledgements the agent wrote from the message's dialogue act
    and key phrase with the bot's own templates: the hybrid fallback ranks them beside
    retrieved and generated candidates. ``side_of`` tells the side a candidate takes toward
    the topic (favor, against, none: the NLU's sure stance), for the persona's stance rule.
    ``side`` is the side the message leans to (its stance label, sure or not; none when it
    takes none): a bot with a stance answers a message that argues a side with its own lines
    only (generator/service.py). Whether the NLU is sure of that side matters only to which
    acknowledgements the agent writes into ``grounded``.
    ``about_bot``: the message asks about the bot itself (its dialogue act), which a bot
    answers with its own lines only too.
    """

    history: tuple[str, ...]
    topic: str | None = None
    previous_bot_reply: str | None = None
    max_chars: int = TWEET_LIMIT
    persona: Persona = field(default_factory=Persona)
    grounded: tuple[str, ...] = ()
    side_of: Callable[[str], str] | None = field(default=None, compare=False)
    side: str = "none"
    about_bot: bool = False


@dataclass(frozen=True)
class Generated:
    """A reply, or the reason the safety guard rejected every candidate (then ``text`` is None).

    ``source`` says where the reply came from, as JSON the turn record keeps: ``{"kind":
    "retrieved" | "generated" | "grounded", ...}`` with the corpus and pair of a retrieved
    reply and the ranker's score and largest feature contributions.
    """

    text: str | None
    rejected_reason: str | None = None
    source: dict[str, Any] | None = None


class ReplyGenerator(Protocol):
    """Anything that writes a fallback reply; ``version`` is recorded with every turn."""

    version: str

    def reply(self, context: ReplyContext) -> Generated: ...
