"""The dashboard page: its charts, the dialogue graph and the Twitter panel."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from agent.channels.twitter.models import InboxMention, MentionCursor
from tests.web.conftest import AdminActions, add_turn


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
