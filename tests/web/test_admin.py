from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from agent.channels.twitter.models import (
    BLOCKED,
    REPLIES_CLOSED,
    VANISHED,
    MentionCursor,
    OutboxReply,
)
from tests.web.conftest import AdminActions, add_turn, days_ago
from xsandbox.state import BLOCKED as BLOCKED_DETAIL
from xsandbox.state import NOT_MENTIONED, NOT_VISIBLE


def seed(db: Session) -> None:
    add_turn(db, "ana", "hello there", at=days_ago(3))
    add_turn(db, "ana", "tell me about robots", intent="share_interest", confidence=0.95)
    add_turn(
        db,
        "bob",
        "what is the meaning of life",
        intent="thanks",
        confidence=0.31,
        trusted=False,
        tier="canned",
        reply="Sorry, I lost the thread there.",
        state_before="chatting",
        state_after="chatting",
    )
    add_turn(
        db,
        "1234567",
        "@ada hi from twitter",
        channel="twitter",
        handle="carol_x",
        tier="generated",
        confidence=0.6,
        message_id="1799999999999999999",
        in_reply_to_id="1700000000000000000",
        thread_id="1700000000000000000",
        at=days_ago(10),
    )
    db.commit()


def rows(text: str) -> int:
    return text.count("<tr class=")


def test_conversation_list_shows_each_conversation(admin: AdminActions, db: Session) -> None:
    seed(db)
    page = admin.client.get("/admin/conversations")
    assert page.status_code == 200
    assert "3 found" in page.text
    assert "carol_x" in page.text and "ana" in page.text and "bob" in page.text
    # bob: one turn, one fallback; the last message is shown.
    assert "what is the meaning of life" in page.text


def test_conversation_filters(any_admin: AdminActions) -> None:
    with any_admin.app.extensions["threadbot"].sessions() as db:
        seed(db)
    get = any_admin.client.get

    def found(query: str) -> int:
        text = get(f"/admin/conversations?{query}").text
        return int(text.split("<small>")[1].split(" found")[0])

    assert found("") == 3
    assert found("q=ROBOTS") == 1  # text search ignores case
    assert found("q=50%25") == 0  # LIKE wildcards are literal
    assert found("user=carol") == 1  # by handle
    assert found("user=123") == 1  # by id
    assert found("channel=twitter") == 1
    assert found("intent=thanks") == 1
    assert found("state=chatting") == 1
    assert found("tier=canned") == 1
    assert found("band=low") == 1
    assert found("band=high") == 1
    assert found("band=medium") == 1
    assert found(f"date_from={days_ago(5).date()}") == 2
    assert found(f"date_to={days_ago(5).date()}") == 1
    assert found("tier=canned&channel=twitter") == 0
    bad = get("/admin/conversations?date_from=yesterday&tier=psychic")
    assert "3 found" in bad.text
    assert "ignored date_from=&#39;yesterday&#39;" in bad.text and "ignored tier=" in bad.text


def test_conversation_list_paginates(admin: AdminActions, db: Session) -> None:
    for number in range(7):
        add_turn(db, f"user{number}", "hello", at=days_ago(number))
    db.commit()
    admin.app.config["PAGE_SIZE"] = 3
    first = admin.client.get("/admin/conversations").text
    assert "page 1 of 3" in first and "user0" in first and "user3" not in first
    third = admin.client.get("/admin/conversations?page=3").text
    assert "user6" in third and rows(third) == 1
    assert "page 1 of 3" in admin.client.get("/admin/conversations?page=abc").text
    # Filtering by turns gives no count up front, only whether more pages follow.
    searched = admin.client.get("/admin/conversations?q=hello").text
    assert "3+ found" in searched and "older →" in searched and "page 1<" in searched
    assert "7 found" in admin.client.get("/admin/conversations?q=hello&page=3").text


def test_thread_view_shows_how_each_reply_was_chosen(admin: AdminActions, db: Session) -> None:
    seed(db)
    page = admin.client.get("/admin/conversations?user=carol").text
    href = page.split('href="/admin/conversations/')[1].split('"')[0]
    thread = admin.client.get(f"/admin/conversations/{href}").text
    assert "@ada hi from twitter" in thread
    assert "greet" in thread and "0.60" in thread  # intent and confidence
    assert "thanks" in thread and "0.40" in thread  # runner-up
    assert "idle → asked_topic" in thread and "generated" in thread
    assert "12.5 ms" in thread and "nlu-test" in thread
    link = 'href="https://x.com/i/web/status/1799999999999999999" rel="noopener noreferrer"'
    assert link in thread


def test_thread_view_says_when_and_why_a_reply_text_was_varied(
    admin: AdminActions, db: Session
) -> None:
    why = "the first choice was posted lately; sent option 3 (personalised) instead"
    turn = add_turn(db, "dan", "@ada hello", channel="twitter", reply="Hey Dan!", variation=why)
    add_turn(db, "dan", "@ada thanks", channel="twitter", reply="Anytime!")
    db.commit()
    thread = admin.client.get(f"/admin/conversations/{turn.conversation_id}").text
    assert thread.count("text varied") == 1 and thread.count("why varied") == 1
    assert why in thread


def test_thread_view_shows_what_was_posted_when_x_refused_the_reply(
    admin: AdminActions, db: Session
) -> None:
    """The turn keeps the agent's reply; X's duplicate rule made the poster send another
    option, which the outbox row holds: a reviewer sees both, and why."""
    turn = add_turn(db, "erin", "@ada hi", channel="twitter", reply="Hello there!")
    same = add_turn(db, "erin", "@ada bye", channel="twitter", reply="Bye for now!")
    note = "X refused the text as a duplicate; switched to option 2 (personalised)"
    for row, text, error in ((turn, "Hi Erin!", note), (same, "Bye for now!", None)):
        db.add(
            OutboxReply(
                mention_id=row.id, account_id="1", author_id="2", text=text, error=error,
                turn_id=row.id,
            )
        )  # fmt: skip
    db.commit()
    thread = admin.client.get(f"/admin/conversations/{turn.conversation_id}").text
    assert "Hello there!" in thread and "Hi Erin!" in thread
    assert thread.count("text varied") == 1 and thread.count("why posted so") == 1
    assert note in thread and thread.count("Bye for now!") == 1


def test_thread_404(admin: AdminActions) -> None:
    response = admin.client.get("/admin/conversations/999")
    assert response.status_code == 404
    assert "There is no conversation 999." in response.text


def test_review_inbox_lists_fallbacks_and_untrusted_until_annotated(
    admin: AdminActions, db: Session
) -> None:
    seed(db)
    inbox = admin.client.get("/admin/review").text
    assert "2 turns" in inbox  # bob's canned turn and carol's generated one
    assert "what is the meaning of life" in inbox and "hi from twitter" in inbox
    assert "hello there" not in inbox
    turn_id = inbox.split('id="turn-')[1].split('"')[0]
    admin.post(f"/admin/turns/{turn_id}/annotate", {"verdict": "bad"})
    assert "1 turns" in admin.client.get("/admin/review").text


def test_turn_search(admin: AdminActions, db: Session) -> None:
    seed(db)
    page = admin.client.get("/admin/turns?q=hello").text
    assert "1 turns" in page and "hello there" in page
    assert "4 turns" in admin.client.get("/admin/turns").text


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == body["checks"]["schema"] == body["checks"]["nlu"] == "ok"


def test_metrics_are_prometheus_text_without_message_text(client: FlaskClient) -> None:
    chat = client.post("/api/v1/chat", json={"user": "mia", "text": "hello <secret words>"})
    assert chat.status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert "# TYPE threadbot_turns" in response.text
    assert "threadbot_turn_latency_ms_count 1" in response.text
    assert "secret words" not in response.text


@pytest.mark.parametrize(
    ("status", "error", "said"),
    [
        (VANISHED, NOT_VISIBLE, "the mention was deleted, or its author"),
        (BLOCKED, BLOCKED_DETAIL, "author blocks the bot"),
        (REPLIES_CLOSED, NOT_MENTIONED, "reply settings leave the bot out"),
    ],
)
def test_thread_view_says_why_a_reply_never_reached_x(
    admin: AdminActions, db: Session, status: str, error: str, said: str
) -> None:
    turn = add_turn(db, "fay", "@ada hi", channel="twitter", reply="Hello there!")
    db.add(
        OutboxReply(
            mention_id=turn.id, account_id="1", author_id="2", text="Hello there!",
            status=status, error=error, turn_id=turn.id,
        )
    )  # fmt: skip
    db.commit()
    thread = admin.client.get(f"/admin/conversations/{turn.conversation_id}").text
    assert thread.count("not on X") == 1 and said in thread
    assert "why posted so" not in thread


def test_dashboard_shows_a_posting_pause_and_timeline_gaps(
    admin: AdminActions, db: Session
) -> None:
    until = datetime.now(UTC) + timedelta(hours=5)
    db.add(
        MentionCursor(
            account_id="1", since_id=5, last_poll_at=datetime.now(UTC),
            posting_paused_until=until, posting_pause_reason="X's 24-hour post cap (account)",
            gaps_found=2, gaps_closed=1, unreachable_before=datetime(2026, 12, 1, 8, tzinfo=UTC),
        )
    )  # fmt: skip
    db.commit()
    page = admin.client.get("/admin/").text
    assert f"paused until {until:%Y-%m-%d %H:%M} UTC (X&#39;s 24-hour post cap (account))" in page
    assert "2 found, 1 closed through search; mentions before 2026-12-01 08:00 UTC" in page
