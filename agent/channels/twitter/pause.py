"""X's post caps: when the account's or the app's 24-hour (or monthly) post limit is spent,
posting pauses until X's reset, for every worker, with the outbox kept in order.

X answers ``POST /2/tweets`` with 429 and ``x-user-limit-24hour-remaining: 0`` (or
``x-app-limit-24hour-*``) and the reset as epoch seconds, hours away: a 15-minute backoff
would knock all day. The pause lives on the account's cursor row, so other workers, the
dashboard and ``/metrics`` read it; after the reset the first post is the one probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import tweepy
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agent.channels.twitter.models import MentionCursor

# The caps X reports in a post's headers, and how the dashboard names each.
_DAILY = (("x-user-limit-24hour", "X's 24-hour post cap (account)"),
          ("x-app-limit-24hour", "X's 24-hour post cap (app)"))  # fmt: skip
MONTHLY = "X's monthly post cap"


@dataclass(frozen=True)
class Pause:
    """Posting waits until ``until``; ``reason`` says whose cap it is."""

    until: datetime
    reason: str


def spent_cap(exc: tweepy.TooManyRequests) -> Pause | None:
    """The pause a 429 asks for when it is a spent post cap rather than the 15-minute window;
    None for an ordinary rate limit. A monthly cap ("usage cap exceeded") has no reset header:
    it lasts until the first of next month (UTC), when X's monthly counts start again."""
    headers = exc.response.headers
    spent = []
    for prefix, reason in _DAILY:
        reset = str(headers.get(f"{prefix}-reset", ""))
        if str(headers.get(f"{prefix}-remaining", "")) == "0" and reset.isdigit():
            spent.append((int(reset), reason))
    if spent:
        reset, reason = max(spent)
        return Pause(datetime.fromtimestamp(reset, UTC), reason)
    if "usage cap" in " ".join(exc.api_messages).lower():
        now = datetime.now(UTC)
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        first = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        return Pause(first, MONTHLY)
    return None


def read_pause(session: Session, account_id: str) -> Pause | None:
    """The account's pause, if one is recorded (past or not)."""
    row = session.execute(
        select(MentionCursor.posting_paused_until, MentionCursor.posting_pause_reason).where(
            MentionCursor.account_id == account_id
        )
    ).one_or_none()
    if row is None or row[0] is None:
        return None
    return Pause(row[0], row[1] or "X's post cap")


def record_pause(session: Session, account_id: str, pause: Pause | None) -> None:
    """Store (or, with None, lift) the account's pause. The cursor row exists once the loop
    has polled, which it has before anything can be posted."""
    session.execute(
        update(MentionCursor)
        .where(MentionCursor.account_id == account_id)
        .values(
            posting_paused_until=pause.until if pause else None,
            posting_pause_reason=pause.reason if pause else None,
        )
    )
