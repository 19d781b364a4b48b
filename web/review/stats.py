"""Numbers for the dashboard: traffic per day, tiers, fallbacks, intents, latency.

The Twitter panel reads agent.channels.twitter.health.loop_health, shared with /metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.storage.models import Turn, User
from agent.storage.review_models import Annotation
from nlu.stance_data import STANCES
from web.review.filters import (
    FALLBACK_TIERS,
    SILENT,
    TIERS,
    doubtful_turn,
    stance_side,
)

# Latency percentiles come from this many most recent turns of the window.
LATENCY_SAMPLE = 5000


@dataclass
class Dashboard:
    """Everything the dashboard draws, for the last ``window_days`` days."""

    window_days: int
    days: list[str] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    fallback_rate: list[float | None] = field(default_factory=list)
    tiers: dict[str, int] = field(default_factory=dict)
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    # Messages per day by the side they took (web.review.filters.stance_side).
    stance: dict[str, list[int]] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None
    turns: int = 0
    users: int = 0
    needs_review: int = 0

    def as_json(self) -> dict[str, Any]:
        """The numbers the charts read (plain JSON types only)."""
        return {
            "days": self.days,
            "messages": self.messages,
            "fallback_rate": self.fallback_rate,
            "tiers": self.tiers,
            "top_intents": [[name, count] for name, count in self.top_intents],
            "stance": self.stance,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (None when there are none)."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


# Days older than this are final: turns are written as they happen (a late mention may land
# in yesterday), so their counts can be remembered instead of recounted on every load.
SETTLED_AFTER_DAYS = 2
# (tier, doubtful, intent, side, turns)
DayCounts = list[tuple[str, bool, str | None, str, int]]


def dashboard(
    session: Session,
    now: datetime | None = None,
    window_days: int = 30,
    settled: dict[date, DayCounts] | None = None,
) -> Dashboard:
    """Aggregate the last ``window_days`` days of turns (counting days in UTC).

    ``settled`` remembers the counts of days that can no longer change, between calls.
    """
    # Long: one pass over the window's day counts fills the tiers, intents, doubtful turns and
    # fallback rates together; the figures after it are short commented queries.
    now = now or datetime.now(UTC)
    first_day = now.date() - timedelta(days=window_days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    recent = Turn.created_at >= since
    board = Dashboard(window_days=window_days)

    # One indexed range query per day, grouped by what the charts split on. Cheaper than one
    # GROUP BY date(...) over the month (no per-row date function, small sorts), and the same
    # SQL with bound values on both databases.
    per_day: dict[str, dict[str, int]] = {}
    per_day_sides: dict[str, dict[str, int]] = {}
    intents: dict[str, int] = {}
    doubtful = 0
    for offset in range(window_days):
        start = since + timedelta(days=offset)
        counts = per_day.setdefault(start.date().isoformat(), {})
        sides = per_day_sides.setdefault(start.date().isoformat(), {})
        rows = settled.get(start.date()) if settled is not None else None
        if rows is None:
            # Doubtful in SQL, over the grouped columns: the review filter's own expression.
            side = stance_side()
            rows = [
                (tier, bool(doubtful), intent, stance, count)
                for tier, doubtful, intent, stance, count in session.execute(
                    select(Turn.tier, doubtful_turn(), Turn.intent, side, func.count())
                    .where(Turn.created_at >= start, Turn.created_at < start + timedelta(days=1))
                    .group_by(Turn.tier, Turn.trusted, Turn.intent, side)
                )
            ]
            if settled is not None and (now.date() - start.date()).days >= SETTLED_AFTER_DAYS:
                settled[start.date()] = rows
        for tier, is_doubtful, intent, stance, count in rows:
            counts[tier] = counts.get(tier, 0) + count
            sides[stance] = sides.get(stance, 0) + count
            board.tiers[tier] = board.tiers.get(tier, 0) + count
            intents[intent or "(none)"] = intents.get(intent or "(none)", 0) + count
            if is_doubtful:
                doubtful += count
    board.tiers = {tier: board.tiers.get(tier, 0) for tier in TIERS} | board.tiers
    for offset in range(window_days):
        key = (first_day + timedelta(days=offset)).isoformat()
        counts = per_day.get(key, {})
        total = sum(counts.values())
        answered = total - counts.get(SILENT, 0)
        for side in STANCES:
            board.stance.setdefault(side, []).append(per_day_sides.get(key, {}).get(side, 0))
        fallbacks = sum(counts.get(t, 0) for t in FALLBACK_TIERS)
        board.days.append(key)
        board.messages.append(total)
        board.fallback_rate.append(round(fallbacks / answered, 4) if answered else None)
    board.turns = sum(board.messages)
    board.top_intents = sorted(intents.items(), key=lambda item: (-item[1], item[0]))[:10]
    # Doubtful turns less the annotated ones: the annotations are few, the turns many.
    reviewed = session.scalar(
        select(func.count())
        .select_from(Annotation)
        .join(Turn, Turn.id == Annotation.turn_id)
        .where(recent, doubtful_turn())
    )
    board.needs_review = doubtful - (reviewed or 0)

    # Latency percentiles from the most recent turns: what the bot does now, read straight
    # from the covering index instead of sorting a month of rows.
    latencies = sorted(
        session.scalars(
            select(Turn.latency_ms)
            .where(recent)
            .order_by(Turn.created_at.desc())
            .limit(LATENCY_SAMPLE)
        )
    )
    board.p50_ms = percentile(latencies, 0.50)
    board.p95_ms = percentile(latencies, 0.95)
    board.users = session.scalar(select(func.count()).select_from(User)) or 0
    return board
