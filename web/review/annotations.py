"""Write reviewers' marks on turns; caller owns the session.

Which reviewed turns retraining learns from is decided in one place only:
agent/mlops/retrain/reviewed.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import Turn, utcnow
from agent.storage.review_models import VERDICTS, Annotation
from web.review.queries import existing_turn

BULK_ACTIONS = ("good", "bad", "approve", "unapprove", "clear")
MAX_REPLY_CHARS = 1000


class AnnotationError(ValueError):
    """The annotation cannot be saved as given; the message says why."""


def annotate(
    session: Session,
    turn_id: int,
    *,
    verdict: str | None,
    better_reply: str | None,
    corrected_intent: str | None,
    approved: bool,
    admin_id: int | None,
    known_intents: Sequence[str] | None = None,
) -> Annotation:
    """Create or replace the annotation on one turn.

    :raise AnnotationError: unknown verdict or intent, over-long reply, or no such turn.
    """
    if verdict not in (None, *VERDICTS):
        raise AnnotationError(f"verdict must be one of {', '.join(VERDICTS)} or empty")
    better_reply = (better_reply or "").strip() or None
    if better_reply is not None and len(better_reply) > MAX_REPLY_CHARS:
        raise AnnotationError(f"the better reply is over {MAX_REPLY_CHARS} characters")
    corrected_intent = (corrected_intent or "").strip() or None
    if corrected_intent and known_intents is not None and corrected_intent not in known_intents:
        raise AnnotationError(f"unknown intent {corrected_intent!r}")
    existing_turn(session, turn_id)
    note = session.scalar(select(Annotation).where(Annotation.turn_id == turn_id))
    if note is None:
        note = Annotation(turn_id=turn_id)
        session.add(note)
    note.verdict = verdict
    note.better_reply = better_reply
    note.corrected_intent = corrected_intent
    note.approved = approved
    note.admin_id = admin_id
    note.updated_at = utcnow()
    session.flush()
    return note


def bulk_annotate(
    session: Session, turn_ids: Sequence[int], action: str, admin_id: int | None
) -> int:
    """Apply one action to many turns, keeping each turn's other marks; returns how many changed.

    :raise AnnotationError: unknown action.
    """
    if action not in BULK_ACTIONS:
        raise AnnotationError(f"action must be one of {', '.join(BULK_ACTIONS)}")
    ids = sorted(set(turn_ids))
    existing = {
        note.turn_id: note
        for start in range(0, len(ids), 500)  # bounded IN lists stay fast on both databases
        for note in session.scalars(
            select(Annotation).where(Annotation.turn_id.in_(ids[start : start + 500]))
        )
    }
    if action == "clear":
        for note in existing.values():
            session.delete(note)
        session.flush()
        return len(existing)
    real = {
        tid
        for start in range(0, len(ids), 500)
        for tid in session.scalars(select(Turn.id).where(Turn.id.in_(ids[start : start + 500])))
    }
    now = utcnow()
    for tid in sorted(real):
        note = existing.get(tid)
        if note is None:
            note = Annotation(turn_id=tid, approved=False)
            session.add(note)
        if action in VERDICTS:
            note.verdict = action
        else:
            note.approved = action == "approve"
        note.admin_id = admin_id
        note.updated_at = now
    session.flush()
    return len(real)
