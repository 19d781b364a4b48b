from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import InboxMention, MentionCursor
from agent.storage.models import Turn
from tests.web.conftest import AdminActions, add_turn
from web.review import stats
from web.review.filters import TIERS, doubtful_turn, is_doubtful
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


def test_dashboard_page_draws_real_charts(admin: AdminActions, db: Session) -> None:
    add_turn(db, "ana", "hello")
    db.commit()
    page = admin.client.get("/admin/?days=7").text
    for canvas in ("chart-messages", "chart-fallback", "chart-tiers", "chart-intents"):
        assert f'id="{canvas}"' in page
    assert "/static/vendor/chart.umd.min.js" in page and "/static/dashboard.js" in page
    embedded = page.split('<script type="application/json" id="stats">')[1].split("</script>")[0]
    numbers = json.loads(embedded)
    assert len(numbers["days"]) == 7 and numbers["messages"][-1] == 1
    chart_js = admin.client.get("/static/vendor/chart.umd.min.js")
    assert chart_js.status_code == 200 and b"Chart.js v4" in chart_js.data
    chart_js.close()
    # The dialogue graph is an inline SVG with every state of the script.
    assert '<svg class="dialogue"' in page
    for state in ("idle", "asked_topic", "asked_opinion", "chatting"):
        assert f">{state}</text>" in page
    assert "Twitter loop not configured" in page
    assert admin.client.get("/admin/stats.json").get_json()["messages"][-1] == 1


def test_twitter_panel_reads_the_loop_tables(admin: AdminActions, db: Session) -> None:
    db.add(MentionCursor(account_id="1", since_id=5, last_poll_at=datetime.now(UTC)))
    db.add(InboxMention(tweet_id=7, account_id="1", author_id="2", text="@ada hi"))
    db.commit()
    page = admin.client.get("/admin/").text
    assert "mentions waiting" in page and "Twitter loop not configured" not in page


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


def test_doubtful_turn_in_sql_and_in_python_agree(db: Session) -> None:
    # The review filter asks the database, the dashboard's counts ask Python: one rule.
    kinds = [(tier, trusted) for tier in TIERS for trusted in (True, False)]
    ids = {
        add_turn(db, "ana", f"{tier} {trusted}", tier=tier, trusted=trusted).id: (tier, trusted)
        for tier, trusted in kinds
    }
    db.commit()
    in_sql = set(db.scalars(select(Turn.id).where(doubtful_turn())))
    assert in_sql == {i for i, (tier, trusted) in ids.items() if is_doubtful(tier, trusted)}
    assert 0 < len(in_sql) < len(kinds)
