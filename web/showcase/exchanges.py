"""Stars, and the starred exchanges as the showcase shows them: privacy first.

An :class:`Exchange` is all a card or a gallery ever reads, so what it leaves out can never
leak: opted-out users are skipped (``users forget`` deletes their turns, and their stars go
with them), the text is scrubbed as retraining scrubs it (links, e-mails, @handles, phone
numbers, the user's own handle), names the NLU found in the user's messages, and names in
name slots, are masked wherever they appear (replies fill them in), and the user's handle is
masked unless the operator asks to show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.channels.twitter.models import InboxMention, OutboxReply
from agent.core.script import load_script
from agent.core.variants import display_name
from agent.mlops.retrain.reviewed import scrub_personal
from agent.settings import Settings
from agent.storage.models import Conversation, Turn, User, utcnow
from web.models import MAX_CONTEXT, AdminUser, Star
from web.reveal import published_text
from web.review.filters import TurnFilter
from web.review.queries import existing_turn

NAME_MASK = "•••"
# Entity labels and slot names that hold a person's name.
_NAME_LABELS = {"person", "name", "per"}
_NAME_SLOT = re.compile(r"(?:^|_)name$", re.I)
# What a channel without handles calls its users on a card.
_CHANNEL_PEOPLE = {"web": "Web visitor", "cli": "Terminal user"}
POSTED = "posted"


class ShowcaseError(ValueError):
    """A star that cannot be made: nothing said, a context out of range."""


@dataclass(frozen=True)
class BotIdentity:
    """How the bot signs its cards: the script's name and, where set, its X handle."""

    name: str
    handle: str | None = None


@dataclass(frozen=True)
class Said:
    """One message on a card, oldest first."""

    by_bot: bool
    text: str
    at: datetime


@dataclass(frozen=True)
class Exchange:
    """One starred exchange, ready to draw or publish (nothing in it needs masking)."""

    star_id: int
    turn_id: int
    conversation_id: int  # for the console's link; a gallery never shows it
    channel: str
    tier: str
    at: datetime  # when the starred turn was said
    starred_at: datetime
    starred_by: str | None  # the admin's name; None once that account is gone
    user_name: str
    user_handle: str | None  # "@handle", masked ("@j•••") unless revealed; None off X
    bot: BotIdentity
    said: tuple[Said, ...]

    @property
    def slug(self) -> str:
        """The file-name stem of this exchange's cards."""
        return f"exchange-{self.star_id}"


def bot_identity(settings: Settings) -> BotIdentity:
    """The bot as its cards sign it: the dialogue script's name and
    ``THREADBOT_SHOWCASE_BOT_HANDLE``."""
    handle = settings.showcase_bot_handle
    name = load_script(settings.dialogue_path).name
    return BotIdentity(name, "@" + handle.lstrip("@") if handle else None)


def star(session: Session, turn_id: int, admin_id: int | None, context: int = 0) -> Star:
    """Star ``turn_id`` with ``context`` earlier turns shown before it (a second star of the
    same turn updates the first).

    :raise NoSuchTurnError: no such turn.
    :raise ShowcaseError: a turn the bot did not answer, a context out of range.
    """
    if not 0 <= context <= MAX_CONTEXT:
        raise ShowcaseError(f"context must be 0 to {MAX_CONTEXT} earlier turns")
    turn = existing_turn(session, turn_id)
    if turn.reply_text is None:
        raise ShowcaseError("the bot did not answer this turn, so there is no exchange to show")
    person = session.scalar(
        select(User).join(Conversation).where(Conversation.id == turn.conversation_id)
    )
    if person is not None and person.opted_out:
        raise ShowcaseError("this person opted out, so the showcase never shows them")
    found = session.scalar(select(Star).where(Star.turn_id == turn_id))
    if found is None:
        try:
            with session.begin_nested():  # another reviewer may star it at the same moment
                found = Star(turn_id=turn_id, context=context, admin_id=admin_id)
                session.add(found)
            return found
        except IntegrityError:
            found = session.scalar(select(Star).where(Star.turn_id == turn_id))
            assert found is not None  # the row that won the race
    # Starred again: this reviewer's choice, and it counts as the newest star.
    found.context, found.admin_id, found.created_at = context, admin_id, utcnow()
    session.flush()
    return found


def unstar(session: Session, turn_id: int) -> bool:
    """Remove the star on ``turn_id``; False when it had none."""
    return bool(session.execute(delete(Star).where(Star.turn_id == turn_id)).rowcount)


def starred(
    session: Session,
    bot: BotIdentity,
    where: TurnFilter | None = None,
    *,
    star_id: int | None = None,
    show_handles: bool = False,
    page: tuple[int, int] | None = None,
) -> list[Exchange]:
    """Starred exchanges matching ``where`` (channel, tier, dates: the starred turn's), newest
    star first, or the one with ``star_id``; never an opted-out user's. ``page`` is (offset,
    limit) where only part is wanted."""
    stmt = (
        _matching(select(Star, Turn, User, AdminUser.username), where)
        .outerjoin(AdminUser, AdminUser.id == Star.admin_id)
        .order_by(Star.created_at.desc(), Star.id.desc())
    )
    if star_id is not None:
        stmt = stmt.where(Star.id == star_id)
    if page is not None:
        stmt = stmt.offset(page[0]).limit(page[1])
    out = []
    for found, turn, user, admin in session.execute(stmt):
        turns = _thread(session, turn, found.context)
        shown_as, handles = _known_as(session, turns)
        masked = _Masker(user, turns, [*shown_as, *handles], bot.name)
        out.append(
            Exchange(
                star_id=found.id,
                turn_id=turn.id,
                conversation_id=turn.conversation_id,
                channel=turn.channel,
                tier=turn.tier,
                at=turn.created_at,
                starred_at=found.created_at,
                starred_by=admin,
                user_name=_user_name(user, show_handles, shown_as),
                user_handle=_user_handle(user, show_handles),
                bot=bot,
                said=tuple(_said(session, turns, masked)),
            )
        )
    return out


def count_starred(session: Session, where: TurnFilter | None = None) -> int:
    """How many starred exchanges ``starred`` would list for ``where``."""
    return session.scalar(_matching(select(func.count(Star.id)), where)) or 0


def _matching(stmt: Select[Any], where: TurnFilter | None) -> Select[Any]:
    """``stmt`` over stars, joined to their turn and user, kept to ``where`` and to users who
    have not opted out."""
    where = where or TurnFilter()
    return (
        stmt.select_from(Star)
        .join(Turn, Turn.id == Star.turn_id)
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .join(User, User.id == Conversation.user_id)
        .where(User.opted_out.is_(False), *where.turn_conditions(), *where.user_conditions())
    )


def _thread(session: Session, turn: Turn, context: int) -> list[Turn]:
    earlier = session.scalars(
        select(Turn)
        .where(Turn.conversation_id == turn.conversation_id, Turn.id < turn.id)
        .order_by(Turn.id.desc())
        .limit(context)
    )
    return [*reversed(list(earlier)), turn]


class _Masker:
    """Scrubs one exchange's text, published first (web.reveal.published_text: a zero-width
    space must not split "@jack" from the mask and vanish after it): the names its turns hold
    and the names and handles X sent with its mentions (replies greet people by them:
    ``{name}``), then the retraining scrub."""

    def __init__(self, user: User, turns: list[Turn], known_as: list[str], bot_name: str) -> None:
        self.handle = user.handle
        names = {*known_as, *(display_name(n) or "" for n in known_as)}
        for t in turns:
            for e in t.entities or []:
                if isinstance(e, dict) and str(e.get("label", "")).lower() in _NAME_LABELS:
                    names |= {str(e.get("text") or ""), str(e.get("value") or "")}
            names |= {
                value
                for key, value in (t.slots or {}).items()
                if _NAME_SLOT.search(key) and isinstance(value, str)
            }
        # A name of one letter, or the bot's own ("Ada"), would mask half of every reply.
        shown = {published_text(n) for n in names}
        wanted = {
            n
            for n in shown
            if sum(c.isalnum() for c in n) >= 2 and n.casefold() != bot_name.casefold()
        }
        pattern = "|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in sorted(wanted, key=len)[::-1])
        self.names = re.compile(pattern, re.I) if wanted else None

    def __call__(self, text: str) -> str:
        text = published_text(text)
        if self.names is not None:
            text = self.names.sub(NAME_MASK, text)
        return scrub_personal(text, self.handle)


def _said(session: Session, turns: list[Turn], masked: _Masker) -> Iterable[Said]:
    posted = dict(
        session.execute(
            select(OutboxReply.turn_id, OutboxReply.text).where(
                OutboxReply.turn_id.in_([t.id for t in turns]), OutboxReply.status == POSTED
            )
        ).all()
    )
    for turn in turns:
        yield Said(False, masked(turn.user_text), turn.created_at)
        # What X shows is what was posted, where the poster had to vary the reply.
        reply = posted.get(turn.id) or turn.reply_text
        if reply is not None:
            yield Said(True, masked(reply), turn.created_at)


def _user_handle(user: User, show: bool) -> str | None:
    if user.channel != "twitter" or not user.handle:
        return None
    handle = user.handle.lstrip("@")
    return "@" + (handle if show else handle[:1] + NAME_MASK)


def _user_name(user: User, show: bool, display_names: list[str]) -> str:
    """The name a card gives the person: their latest display name on X, else their handle,
    when the operator shows them; else what the channel calls its people."""
    if user.channel == "twitter" and user.handle:
        if not show:
            return "Someone on X"
        return display_name(*reversed(display_names)) or user.handle.lstrip("@")
    return _CHANNEL_PEOPLE.get(user.channel, "Someone")


def _known_as(session: Session, turns: list[Turn]) -> tuple[list[str], list[str]]:
    """The display names and the handles X sent with the mentions behind ``turns``, oldest
    first (a person may have been renamed since: the reply greeted the old name)."""
    rows = session.execute(
        select(InboxMention.author_name, InboxMention.author_handle)
        .where(InboxMention.turn_id.in_([t.id for t in turns]))
        .order_by(InboxMention.tweet_id)
    ).all()
    return [n for n, _ in rows if n], [h.lstrip("@") for _, h in rows if h]
