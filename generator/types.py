"""The request and result of one generated reply, and the interface the agent relies on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ReplyContext:
    """What the generator may condition on.

    ``history`` holds the last turns oldest first, alternating speakers and ending with the
    user's message; ``max_chars`` is the budget left after the ``@handle`` prefix, counted the
    way Twitter counts characters.
    """

    history: tuple[str, ...]
    topic: str | None = None
    previous_bot_reply: str | None = None
    max_chars: int = 280


@dataclass(frozen=True)
class Generated:
    """A reply, or the reason the safety guard rejected every candidate (then ``text`` is None)."""

    text: str | None
    rejected_reason: str | None = None


class ReplyGenerator(Protocol):
    """Anything that writes a fallback reply; ``version`` is recorded with every turn."""

    version: str

    def reply(self, context: ReplyContext) -> Generated: ...
