"""The admin console's reads: conversation list, turn lists, one thread; caller owns the session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import (
    BLOCKED,
    FAILED,
    FORBIDDEN,
    REPLIES_CLOSED,
    VANISHED,
    OutboxReply,
)
from agent.storage.models import Conversation, Turn, User
from agent.storage.review_models import Annotation
from web.models import Star
from web.review.filters import FALLBACK_TIERS, TurnFilter

# Counting stops here: an exact count of a rare filter over every turn costs a full scan, and
# "500+" (ten pages) tells a reviewer as much as "7,099" does.
COUNT_CAP = 500


class NoSuchTurnError(LookupError):
    """An action named a turn that does not exist (the console answers 404)."""

    def __init__(self, turn_id: int) -> None:
        super().__init__(f"there is no turn {turn_id}")


def existing_turn(session: Session, turn_id: int) -> Turn:
    """The turn ``turn_id``; :class:`NoSuchTurnError` when there is none."""
    turn = session.get(Turn, turn_id)
    if turn is None:
        raise NoSuchTurnError(turn_id)
    return turn


@dataclass(frozen=True)
class Page:
    """One page of results, whether another follows, and how many match (up to the cap)."""

    items: list[Any]
    total: int
    page: int
    size: int
    has_next: bool = False
    capped: bool = False  # more than ``total`` match

    @property
    def pages(self) -> int | None:
        """How many pages there are, or None when the count was capped."""
        return None if self.capped else max(1, -(-self.total // self.size))


def _count(session: Session, stmt: Any) -> tuple[int, bool]:
    found = session.scalar(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery()))
    return min(found or 0, COUNT_CAP), (found or 0) > COUNT_CAP


@dataclass(frozen=True)
class ConversationRow:
    """A line of the conversation list."""

    conversation: Conversation
    user: User
    turns: int
    fallbacks: int
    last_turn: Turn | None


@dataclass(frozen=True)
class TurnRow:
    """A turn with its user, its annotation, if any, and what X was sent instead of the turn's
    reply when the poster had to switch (X refused the reply as a duplicate), with why."""

    turn: Turn
    user: User
    annotation: Annotation | None
    posted: str | None = None
    posted_note: str | None = None
    delivery: str | None = None  # why X never got the reply, where it did not (below)
    star: Star | None = None  # the showcase star, where a reviewer gave one


def conversation_page(session: Session, where: TurnFilter, page: int, size: int) -> Page:
    """Conversations matching ``where``, most recently active first."""
    # Long: four small queries in the order the page needs them (the page's ids, its count,
    # each conversation's counts, its last turn), each bounded to one page and commented.
    ids = (
        select(Conversation.id)
        .join(User, User.id == Conversation.user_id)
        .where(*where.conversation_conditions())
    )
    page_ids = list(
        session.scalars(
            ids.order_by(Conversation.last_activity.desc(), Conversation.id.desc())
            .limit(size + 1)
            .offset((page - 1) * size)
        )
    )
    has_next = len(page_ids) > size
    page_ids = page_ids[:size]
    if where.turn_conditions(with_state=False):
        # Counting conversations by their turns means probing every conversation; the page
        # query stops after one page. So: "50+ found" and an "older" link instead of a count.
        total, capped = (page - 1) * size + len(page_ids), has_next
    else:
        total, capped = _count(session, ids)
    if not page_ids:
        return Page([], total, page, size, False, capped)
    pairs = session.execute(
        select(Conversation, User)
        .join(User, User.id == Conversation.user_id)
        .where(Conversation.id.in_(page_ids))
    ).all()
    # Counts and the last turn for this page only: a few index range scans, not the whole table.
    counts = {
        row.conversation_id: (row.turns, row.fallbacks or 0)
        for row in session.execute(
            select(
                Turn.conversation_id,
                func.count().label("turns"),
                func.sum(case((Turn.tier.in_(FALLBACK_TIERS), 1), else_=0)).label("fallbacks"),
            )
            .where(Turn.conversation_id.in_(page_ids))
            .group_by(Turn.conversation_id)
        )
    }
    last_ids = select(func.max(Turn.id)).where(Turn.conversation_id.in_(page_ids))
    last = {
        turn.conversation_id: turn
        for turn in session.scalars(
            select(Turn).where(Turn.id.in_(last_ids.group_by(Turn.conversation_id)))
        )
    }
    by_id = {conv.id: (conv, user) for conv, user in pairs}
    rows = [
        ConversationRow(
            conversation=by_id[cid][0],
            user=by_id[cid][1],
            turns=counts.get(cid, (0, 0))[0],
            fallbacks=counts.get(cid, (0, 0))[1],
            last_turn=last.get(cid),
        )
        for cid in page_ids
    ]
    return Page(rows, total, page, size, has_next, capped)


# Why an outbox reply never reached X, for the thread view (agent/channels/twitter/models.py).
UNDELIVERED = {
    VANISHED: "not delivered: the mention was deleted, or its author's tweets are no longer "
    "visible (protected or suspended)",
    BLOCKED: "not delivered: the mention's author blocks the bot",
    REPLIES_CLOSED: "not delivered: the mention's reply settings leave the bot out",
    FORBIDDEN: "refused by X",
    FAILED: "failed",
}


def _turn_rows(session: Session, stmt: Any) -> list[TurnRow]:
    rows = session.execute(
        stmt.add_columns(
            User, Annotation, OutboxReply.text, OutboxReply.error, OutboxReply.status, Star
        )
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .join(User, User.id == Conversation.user_id)
        .outerjoin(Annotation, Annotation.turn_id == Turn.id)
        .outerjoin(OutboxReply, OutboxReply.turn_id == Turn.id)
        .outerjoin(Star, Star.turn_id == Turn.id)
    )
    out = []
    for turn, user, annotation, sent, note, status, star in rows:
        switched = sent is not None and sent != turn.reply_text
        delivery = UNDELIVERED.get(status)
        if delivery is not None and note:
            delivery = f"{delivery} (X: {note})"
        posted = (sent, note) if switched and delivery is None else (None, None)
        out.append(TurnRow(turn, user, annotation, *posted, delivery, star))
    return out


def turn_page(session: Session, where: TurnFilter, page: int, size: int) -> Page:
    """Turns matching ``where``, newest first."""
    conds = where.turn_conditions()
    base = select(Turn.id).where(*conds)
    if where.user_conditions():
        base = (
            base.join(Conversation, Conversation.id == Turn.conversation_id)
            .join(User, User.id == Conversation.user_id)
            .where(*where.user_conditions())
        )
    total, capped = _count(session, base)
    page_ids = list(
        session.scalars(base.order_by(Turn.id.desc()).limit(size + 1).offset((page - 1) * size))
    )
    has_next = len(page_ids) > size
    rows = _turn_rows(
        session, select(Turn).where(Turn.id.in_(page_ids[:size])).order_by(Turn.id.desc())
    )
    return Page(rows, total, page, size, has_next, capped)


def matching_turn_ids(session: Session, where: TurnFilter, limit: int) -> list[int]:
    """Ids of up to ``limit`` turns matching ``where``, newest first (for bulk actions)."""
    stmt = select(Turn.id).where(*where.turn_conditions())
    if where.user_conditions():
        stmt = (
            stmt.join(Conversation, Conversation.id == Turn.conversation_id)
            .join(User, User.id == Conversation.user_id)
            .where(*where.user_conditions())
        )
    return list(session.scalars(stmt.order_by(Turn.id.desc()).limit(limit)))


def iter_turn_rows(session: Session, where: TurnFilter, batch: int = 1000) -> Any:
    """Every turn matching ``where``, oldest first, fetched in batches (for exports)."""
    after = 0
    while True:
        stmt = select(Turn).where(*where.turn_conditions(), Turn.id > after)
        if where.user_conditions():
            stmt = stmt.where(*where.user_conditions())
        rows = _turn_rows(session, stmt.order_by(Turn.id).limit(batch))
        if not rows:
            return
        yield from rows
        after = rows[-1].turn.id


def thread(session: Session, conversation_id: int, limit: int = 500) -> list[TurnRow]:
    """The last ``limit`` turns of one conversation, oldest first."""
    rows = _turn_rows(
        session,
        select(Turn)
        .where(Turn.conversation_id == conversation_id)
        .order_by(Turn.id.desc())
        .limit(limit),
    )
    return list(reversed(rows))


def conversation_with_user(
    session: Session, conversation_id: int
) -> tuple[Conversation, User] | None:
    """A conversation and its user, or None."""
    row = session.execute(
        select(Conversation, User)
        .join(User, User.id == Conversation.user_id)
        .where(Conversation.id == conversation_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])
