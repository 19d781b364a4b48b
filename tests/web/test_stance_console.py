"""The console's view of stance: a badge and a fact line per turn, a filter by side, and the
dashboard's stance per day (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import Turn
from tests.web.conftest import AdminActions, add_turn
from web.provenance import stance_line
from web.review import stats
from web.review.filters import stance_side

# (message, stored stance, the side the bot acted on)
CASES: list[tuple[str, Any, str]] = [
    ("ai is the best", {"label": "favor", "confidence": 0.91, "sure": True}, "favor"),
    ("ai is a scam", {"label": "against", "confidence": 0.88, "sure": True}, "against"),
    ("ai is meh", {"label": "against", "confidence": 0.41, "sure": False}, "none"),
    ("what is ai", {"label": "none", "confidence": 0.8, "sure": True}, "none"),
    ("logged before stance", None, "none"),
]


def _seed(session: Session, now: datetime) -> dict[str, int]:
    ids = {}
    for n, (text, stance, _) in enumerate(CASES):
        at = now - timedelta(days=n % 2)
        ids[text] = add_turn(session, f"u{n}", text, stance=stance, at=at).id
    session.commit()
    return ids


def test_the_side_in_sql_is_the_side_acted_on(any_admin: AdminActions) -> None:
    now = datetime.now(UTC)
    with any_admin.app.extensions["threadbot"].sessions() as db:
        ids = _seed(db, now)
        sides = {i: side for i, side in db.execute(select(Turn.id, stance_side()))}
        board = stats.dashboard(db, now=now, window_days=7)
    assert {text: sides[i] for text, i in ids.items()} == {t: side for t, _, side in CASES}
    # Today: CASES 0, 2, 4; yesterday: 1, 3.
    assert board.stance["favor"][-2:] == [0, 1]
    assert board.stance["against"][-2:] == [1, 0]
    assert board.stance["none"][-2:] == [1, 2]
    assert sum(map(sum, board.stance.values())) == board.turns == len(CASES)


def test_filter_by_stance_and_the_turn_card(any_admin: AdminActions) -> None:
    with any_admin.app.extensions["threadbot"].sessions() as db:
        _seed(db, datetime.now(UTC))
    page = any_admin.client.get("/admin/turns?stance=against").text
    assert "ai is a scam" in page and "ai is meh" not in page and "ai is the best" not in page
    assert '<span class="badge stance stance-against">against</span>' in page
    assert "against 0.88, sure" in page
    listed = any_admin.client.get("/admin/turns?stance=none").text
    assert "ai is meh" in listed and "what is ai" in listed and "logged before stance" in listed
    assert "against 0.41, unsure: read as none" in listed and "ai is a scam" not in listed
    bad = any_admin.client.get("/admin/turns?stance=maybe").text
    assert "ignored stance=" in bad and "ai is the best" in bad  # ignored, not an error
    board = any_admin.client.get("/admin/").text
    assert 'id="chart-stance"' in board
    embedded = board.split('<script type="application/json" id="stats">')[1].split("</script>")[0]
    assert set(json.loads(embedded)["stance"]) == {"favor", "against", "none"}


def test_damaged_or_old_stance_shows_nothing() -> None:
    for value in (None, "against", {"label": "maybe"}, {"label": "<b>x</b>", "sure": True}, []):
        assert stance_line(value).side == "" and stance_line(value).text == ""
    odd = stance_line({"label": "favor", "confidence": "high", "sure": "yes"})
    assert (odd.side, odd.text) == ("", "favor, unsure: read as none")
