"""What a reviewer can filter turns and conversations by: read from the query string (forgiving
bad values), then turned into SQL conditions with bound values."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, case, exists, false, func, not_, or_, true
from werkzeug.datastructures import MultiDict

from agent.storage.models import Conversation, Turn, User
from agent.storage.review_models import Annotation
from nlu.stance_data import STANCES
from web.review.search import contains_text

# The longest text a filter field keeps; more is cut off, not refused.
MAX_TEXT = 200

TIERS = ("scripted", "generated", "canned", "silent")
# Tiers that mean the script had no answer.
FALLBACK_TIERS = ("generated", "canned")
# The bot said nothing, so an untrusted parse there leaves nothing to review.
SILENT = "silent"
# Confidence bands: (lowest included, highest excluded).
BANDS: dict[str, tuple[float, float]] = {
    "low": (0.0, 0.5),
    "medium": (0.5, 0.8),
    "high": (0.8, 1.01),
}


def annotated(*conditions: ColumnElement[bool]) -> Exists:
    """The turn has an annotation (matching ``conditions``).

    Correlated to ``Turn`` by name: left to auto-correlation, a query that also joins
    ``Annotation`` (as the export does) would correlate both tables and leave the subquery
    no FROM clause at all.
    """
    return exists().where(Annotation.turn_id == Turn.id, *conditions).correlate_except(Annotation)


def doubtful_turn() -> ColumnElement[bool]:
    """Fallback and untrusted turns (silent turns never count: nothing was said)."""
    untrusted = and_(Turn.trusted == false(), Turn.tier != SILENT)
    return or_(Turn.tier.in_(FALLBACK_TIERS), untrusted)


def stance_side() -> ColumnElement[str]:
    """The side a turn's message took as the bot acted on it: the stance label when the NLU
    was sure, else ``none`` (also for turns with no stance). nlu.types.Stance.side in SQL:
    the console filters and counts what the script and the fallback acted on."""
    label = func.coalesce(Turn.stance["label"].as_string(), "none")
    return case((Turn.stance["sure"].as_boolean() == true(), label), else_="none")


def needs_review() -> ColumnElement[bool]:
    """Doubtful turns that nobody has annotated yet."""
    return and_(doubtful_turn(), not_(annotated()))


@dataclass(frozen=True)
class TurnFilter:
    """A reviewer's filter; empty fields match everything."""

    q: str = ""  # words in the user's text or the reply
    user: str = ""  # part of the user's id or handle
    channel: str = ""
    intent: str = ""
    state: str = ""
    tier: str = ""
    band: str = ""  # low | medium | high
    stance: str = ""  # favor | against | none: the side the message took (stance_side)
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    review: bool = False  # only turns that need review
    annotated: str = ""  # "" | yes | no | approved

    def is_empty(self) -> bool:
        return self == TurnFilter()

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (only the set ones), for links and exports."""
        args: dict[str, str] = {}
        for item in fields(self):
            value: Any = getattr(self, item.name)
            if value in ("", None, False):
                continue
            args[item.name] = "1" if value is True else str(value)
        return args

    def user_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on the user (joined as ``User``)."""
        conds: list[ColumnElement[bool]] = []
        if self.user:
            conds.append(
                or_(
                    contains_text(User.external_id, self.user),
                    contains_text(User.handle, self.user),
                )
            )
        if self.channel:
            conds.append(User.channel == self.channel)
        return conds

    def turn_conditions(self, with_state: bool = True) -> list[ColumnElement[bool]]:
        """Conditions on single turns (``Turn``); the state matches the state after the turn."""
        conds: list[ColumnElement[bool]] = []
        if self.q:
            conds.append(
                or_(contains_text(Turn.user_text, self.q), contains_text(Turn.reply_text, self.q))
            )
        if self.intent:
            conds.append(Turn.intent == self.intent)
        if self.tier:
            conds.append(Turn.tier == self.tier)
        if with_state and self.state:
            conds.append(Turn.state_after == self.state)
        if self.stance in STANCES:
            conds.append(stance_side() == self.stance)
        if self.band in BANDS:
            low, high = BANDS[self.band]
            conds.append(and_(Turn.confidence >= low, Turn.confidence < high))
        if self.date_from is not None:
            conds.append(Turn.created_at >= _start_of(self.date_from))
        if self.date_to is not None:
            conds.append(Turn.created_at < _start_of(self.date_to + timedelta(days=1)))
        if self.review:
            conds.append(needs_review())
        if self.annotated == "yes":
            conds.append(annotated())
        elif self.annotated == "no":
            conds.append(not_(annotated()))
        elif self.annotated == "approved":
            conds.append(annotated(Annotation.approved.is_(True)))
        return conds

    def conversation_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions for the conversation list: its user, its current state, and at least one
        turn matching the turn filters."""
        conds = self.user_conditions()
        if self.state:
            conds.append(Conversation.state == self.state)
        turn_conds = self.turn_conditions(with_state=False)
        if turn_conds:
            # EXISTS, not IN: listed newest first, the scan stops after one page of matches.
            conds.append(exists().where(Turn.conversation_id == Conversation.id, *turn_conds))
        return conds


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def parse_filter(
    args: MultiDict[str, str], *, review: bool = False
) -> tuple[TurnFilter, list[str]]:
    """The filter in ``args`` and a message for each value that was ignored."""
    problems: list[str] = []

    def text(name: str) -> str:
        return args.get(name, "").strip()[:MAX_TEXT]

    def day(name: str) -> date | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(f"ignored {name}={raw!r}: use a date like 2026-01-31")
            return None

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        raw = text(name)
        if raw and raw not in allowed:
            problems.append(f"ignored {name}={raw!r}: use one of {', '.join(allowed)}")
            return ""
        return raw

    where = TurnFilter(
        q=text("q"),
        user=text("user"),
        channel=text("channel"),
        intent=text("intent"),
        state=text("state"),
        tier=choice("tier", TIERS),
        band=choice("band", tuple(BANDS)),
        stance=choice("stance", STANCES),
        date_from=day("date_from"),
        date_to=day("date_to"),
        review=review or args.get("review") == "1",
        annotated=choice("annotated", ("yes", "no", "approved")),
    )
    return where, problems


def whole_number(raw: str) -> int | None:
    """``raw`` as an int when it is 1 to 18 ASCII digits, else None.

    ``str.isdigit`` alone lets through "²" (which ``int`` refuses) and numbers too big for
    any database integer.
    """
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def page_number(args: MultiDict[str, str]) -> int:
    """The 1-based page asked for; anything odd means page 1."""
    page = whole_number(args.get("page", "1"))
    return page if page is not None and 0 < page < 100_000 else 1
