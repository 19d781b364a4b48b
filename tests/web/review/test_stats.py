"""The dashboard's numbers (web.review.stats): traffic, tiers, doubtful turns, percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.storage.models import Turn
from tests.web.conftest import AdminActions, add_turn
from web.review import stats
from web.review.filters import TIERS, doubtful_turn
from web.review.stats import percentile


def test_numbers(any_admin: AdminActions) -> None:
    now = datetime.now(UTC)
    with any_admin.app.extensions["threadbot"].sessions() as db:
        for n in range(18):
            add_turn(db, f"u{n % 3}", "hi", at=now - timedelta(days=1), latency_ms=10.0 + n)
        add_turn(db, "u0", "??", tier="canned", intent="thanks", at=now, latency_ms=100.0)
        add_turn(db, "u1", "!!", tier="generated", intent=None, at=now, latency_ms=200.0)
        add_turn(db, "u9", "old", at=now - timedelta(days=45))  # outside the window
        db.commit()
        board = stats.dashboard(db, now=now, window_days=30)
    assert board.turns == 20 and board.users == 4
    assert board.messages[-2:] == [18, 2]
    assert board.fallback_rate[-1] == 1.0 and board.fallback_rate[-2] == 0.0
    assert board.fallback_rate[0] is None  # a day without messages has no rate
    assert board.tiers["scripted"] == 18 and board.tiers["canned"] == 1
    assert board.top_intents[0] == ("greet", 18)
    assert ("(none)", 1) in board.top_intents
    assert board.p50_ms is not None and 18 <= board.p50_ms <= 20
    assert board.p95_ms == 100.0
    assert board.needs_review == 2


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1.0, 2.0, 3.0, 3.0], 0.5) == 2.0
    assert percentile([1.0] * 99 + [50.0], 0.95) == 1.0
    assert percentile([1.0] * 94 + [50.0] * 6, 0.95) == 50.0


def test_settled_days_are_counted_once(db: Session) -> None:
    now = datetime.now(UTC)
    add_turn(db, "ana", "old", at=now - timedelta(days=5))
    db.commit()
    settled: dict = {}  # type: ignore[type-arg]
    first = stats.dashboard(db, now=now, window_days=7, settled=settled)
    assert first.turns == 1 and len(settled) == 5  # days 2..6 ago are final
    add_turn(db, "bob", "late import", at=now - timedelta(days=5))  # not recounted
    add_turn(db, "bob", "today", at=now)  # today is always counted afresh
    db.commit()
    second = stats.dashboard(db, now=now, window_days=7, settled=settled)
    assert second.turns == 2
    assert stats.dashboard(db, now=now, window_days=7).turns == 3


def test_the_dashboard_counts_the_turns_the_review_filter_finds(db: Session) -> None:
    # One rule: the dashboard's "needs review" is the review queue's doubtful turns.
    kinds = [(tier, trusted) for tier in TIERS for trusted in (True, False)]
    for tier, trusted in kinds:
        add_turn(db, "ana", f"{tier} {trusted}", tier=tier, trusted=trusted)
    db.commit()
    in_queue = db.scalar(select(func.count()).select_from(Turn).where(doubtful_turn()))
    assert 0 < in_queue < len(kinds)
    assert stats.dashboard(db, window_days=1).needs_review == in_queue
