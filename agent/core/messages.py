"""What a channel hands the agent, what it gets back, and the checks every message passes."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nlu.chars import INVISIBLE, SURROGATE

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


class Rejection(enum.StrEnum):
    """Why a message is refused, for a caller that answers each case its own way (the chat
    API picks its status code by it)."""

    NOT_TEXT = "not_text"
    TOO_LONG = "too_long"
    LONE_SURROGATE = "lone_surrogate"
    EMPTY = "empty"


class MessageRejected(ValueError):
    """The message cannot be handled as it is; the text says why, for the person who sent it."""

    def __init__(self, reason: Rejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    """One message from a channel: who sent it, what it says, and where it sits in a thread."""

    channel: str
    user_id: str
    text: str
    handle: str | None = None
    thread_id: str | None = None
    message_id: str | None = None
    in_reply_to_id: str | None = None
    received_at: datetime | None = None
    # The person's display name where the channel knows it (X does), for ``{name}`` in replies.
    display_name: str | None = None


@dataclass(frozen=True)
class Reply:
    """The agent's answer; ``text`` is None when the bot stays silent (opted out, paused)."""

    text: str | None
    tier: str
    intent: str | None
    confidence: float
    trusted: bool
    state: str
    turn_id: int
    latency_ms: float
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    rejected_reason: str | None = None
    # Where a generated reply came from, as the turn stored it (agent/core/provenance.py).
    source: dict[str, Any] | None = None
    # How the message was read as a follow-up of its thread (agent/core/followup.py), if it was.
    follow_up: dict[str, Any] | None = None
    # The side the message takes toward the bot's topic (nlu.types.Stance), if the NLU says.
    stance: dict[str, Any] | None = None


def clean_text(text: str) -> str:
    """The text the NLU sees: NFC, invisible and control characters removed, spaces collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", INVISIBLE.sub("", text))
    return _SPACES.sub(" ", text).strip()


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as ``U+D800``, or None when the text is sound."""
    found = SURROGATE.search(text)
    return f"U+{ord(found[0]):04X}" if found else None


def storable_text(text: str) -> str:
    """The text kept in the log: as sent, with U+FFFD for what cannot be stored (NUL, which
    PostgreSQL refuses, and lone surrogates, which are not UTF-8)."""
    return SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def check_message(text: str, max_chars: int) -> str:
    """Return the cleaned text, or raise ``MessageRejected`` for empty, long or broken input.

    Broken text is reported before long text, as the chat API always did."""
    if not isinstance(text, str):
        raise MessageRejected(Rejection.NOT_TEXT, "message text must be a string")
    if surrogate := lone_surrogate(text):
        raise MessageRejected(
            Rejection.LONE_SURROGATE,
            f"message holds a lone surrogate ({surrogate}), not a character",
        )
    if len(text) > max_chars:
        raise MessageRejected(
            Rejection.TOO_LONG,
            f"message is {len(text):,} characters long; the limit is {max_chars:,}",
        )
    cleaned = clean_text(text)
    if not cleaned:
        raise MessageRejected(
            Rejection.EMPTY, "message is empty (only spaces or invisible characters)"
        )
    return cleaned
