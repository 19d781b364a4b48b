"""Reviewed turns as training examples, scrubbed, without opted-out or forgotten users."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import Conversation, Turn, User
from agent.storage.review_models import Annotation
from agent.storage.store import thread_history
from generator.clean import scrub


@dataclass(frozen=True)
class ReviewedExample:
    """One approved turn: the thread before the reply, and what to learn from it."""

    turn_id: int
    context: tuple[str, ...]  # earlier turns oldest first, ending with the user's message
    reply: str | None  # the reply to learn (a better reply, or the approved one); None: none
    intent: str | None  # a reviewer's corrected or confirmed intent; None: nothing to learn
    topic: str | None


def scrub_personal(text: str, handle: str | None) -> str:
    """Strip links, e-mails, @handles, phone numbers and the user's own bare handle."""
    if handle:
        text = re.sub(rf"(?<!\w){re.escape(handle.lstrip('@'))}(?!\w)", " ", text, flags=re.I)
    return scrub(text)


def held_out(turn_id: int, fraction: float, seed: int = 13) -> bool:
    """Whether a reviewed turn belongs to the evaluation slice: stable across runs and orders."""
    digest = hashlib.sha1(f"{seed}:turn-{turn_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _target(turn: Turn, note: Annotation) -> str | None:
    if note.better_reply:
        return note.better_reply
    # A reply marked bad is never a target, and a silent turn has none.
    if note.verdict == "bad" or turn.tier == "silent":
        return None
    return turn.reply_text


def _intent(turn: Turn, note: Annotation) -> str | None:
    if note.corrected_intent:
        return note.corrected_intent
    # A confirmed intent only teaches something when the bot acted on it.
    return turn.intent if note.verdict == "good" and turn.trusted else None


def _context(session: Session, turn: Turn, handle: str | None, turns: int) -> tuple[str, ...]:
    earlier = session.execute(
        select(Turn.user_text, Turn.reply_text, Annotation.better_reply)
        .outerjoin(Annotation, Annotation.turn_id == Turn.id)
        .where(Turn.conversation_id == turn.conversation_id, Turn.id < turn.id)
        .order_by(Turn.id.desc())
        .limit(turns)
    ).all()
    # A reviewer's better reply stands in for what the bot said.
    turns_before = ((said, better or answer) for said, answer, better in reversed(earlier))
    history = thread_history(turns_before, turn.user_text)
    cleaned = [scrub_personal(t, handle) for t in history[-turns:]]
    return tuple(t for t in cleaned if t)


def reviewed_examples(
    session: Session, *, context_turns: int, default_topic: str | None
) -> list[ReviewedExample]:
    """Approved turns of users who have not opted out, oldest first, scrubbed of personal data."""
    rows = session.execute(
        select(Turn, Annotation, User.handle)
        .join(Annotation, Annotation.turn_id == Turn.id)
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .join(User, User.id == Conversation.user_id)
        # Opted-out users (and forgotten ones, who are opted out with their turns gone) never
        # reach a snapshot, even if a reviewer approved their turns earlier.
        .where(Annotation.approved.is_(True), User.opted_out.is_(False))
        .order_by(Turn.id)
    ).all()
    out = []
    for turn, note, handle in rows:
        reply = _target(turn, note)
        reply = scrub_personal(reply, handle) if reply else None
        context = _context(session, turn, handle, context_turns)
        if not context:
            continue
        topic = (turn.slots or {}).get("topic") or default_topic
        out.append(ReviewedExample(turn.id, context, reply or None, _intent(turn, note), topic))
    return out
