"""The console's showcase over HTTP (SQLite and PostgreSQL): star from the thread view and the
review inbox, unstar, filter, download cards, and what privacy leaves out."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import InboxMention
from agent.mlops.retrain.forget import find_users, forget
from agent.storage.models import User
from tests.web.conftest import AdminActions, add_turn
from web.models import Star
from web.showcase.exchanges import BotIdentity, star, starred


def _seed(admin: AdminActions) -> dict[str, int]:
    with admin.app.extensions["threadbot"].sessions() as db:
        now = datetime.now(UTC)
        ids = {
            "hello": add_turn(db, "ana", "hello there", reply="Hi! Ask me about AI.", at=now).id,
            "dog": add_turn(
                db, "1234", "my dog stole my sandwich, @friend saw it", channel="twitter",
                handle="jessie_b", reply="A clever dog! Did you get it back?", tier="generated",
                trusted=False, at=now - timedelta(days=3),
            ).id,
            "silent": add_turn(db, "ana", "stop", reply=None, tier="silent", at=now).id,
        }  # fmt: skip
        db.commit()
    return ids


def _stars(admin: AdminActions) -> list[tuple[int, int]]:
    with admin.app.extensions["threadbot"].sessions() as db:
        return [(s.turn_id, s.context) for s in db.scalars(select(Star).order_by(Star.turn_id))]


def test_star_from_thread_and_inbox_list_and_unstar(any_admin: AdminActions) -> None:
    ids = _seed(any_admin)
    thread = any_admin.client.get("/admin/turns?q=hello").text
    assert f'action="/admin/turns/{ids["hello"]}/star"' in thread
    done = any_admin.post(
        f"/admin/turns/{ids['hello']}/star", {"context": "0", "next": "/admin/turns?q=hello"}
    )
    assert done.status_code == 303 and done.location.endswith(f"#turn-{ids['hello']}")
    inbox = any_admin.client.get("/admin/review").text
    assert f'action="/admin/turns/{ids["dog"]}/star"' in inbox
    any_admin.post(f"/admin/turns/{ids['dog']}/star", {"context": "1", "next": "/admin/review"})
    assert _stars(any_admin) == [(ids["hello"], 0), (ids["dog"], 1)]

    page = any_admin.client.get("/admin/showcase").text
    assert "2 starred exchanges" in page and page.count('class="showcase-item"') == 2
    assert "starred " in page and "by alice" in page
    assert "/admin/showcase/" in page and "card-wide.png" in page and "card-square.png" in page
    assert "★ in the showcase" in any_admin.client.get("/admin/turns?q=hello").text

    gone = any_admin.post(f"/admin/turns/{ids['hello']}/unstar", {"next": "/admin/showcase"})
    assert gone.status_code == 303
    assert _stars(any_admin) == [(ids["dog"], 1)]
    again = any_admin.post(f"/admin/turns/{ids['hello']}/unstar", follow_redirects=True)
    assert "was not starred" in again.text


def test_refused_stars_say_why_and_change_nothing(any_admin: AdminActions) -> None:
    ids = _seed(any_admin)
    silent = any_admin.post(f"/admin/turns/{ids['silent']}/star", follow_redirects=True)
    assert "Not starred: the bot did not answer this turn" in silent.text
    for context in ("4", "-1", "x", "²"):
        odd = any_admin.post(
            f"/admin/turns/{ids['hello']}/star", {"context": context}, follow_redirects=True
        )
        assert "Not starred: context must be 0 to 3" in odd.text
    assert any_admin.post("/admin/turns/999999/star").status_code == 404
    assert _stars(any_admin) == []
    assert any_admin.client.post(f"/admin/turns/{ids['hello']}/star").status_code in (400, 403)


def test_filters_cards_and_zip(any_admin: AdminActions) -> None:
    ids = _seed(any_admin)
    for name in ("hello", "dog"):
        any_admin.post(f"/admin/turns/{ids[name]}/star")
    listed = any_admin.client.get("/admin/showcase?channel=twitter").text
    assert "1 starred exchange<" in listed and "twitter" in listed
    assert "1 starred exchange<" in any_admin.client.get("/admin/showcase?tier=generated").text
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert "1 starred exchange<" in any_admin.client.get(f"/admin/showcase?date_from={since}").text
    odd = any_admin.client.get("/admin/showcase?tier=bogus&date_to=soon").text
    assert "ignored tier=" in odd and "ignored date_to=" in odd

    with any_admin.app.extensions["threadbot"].sessions() as db:
        star_id = db.scalar(select(Star.id).where(Star.turn_id == ids["dog"]))
    card = any_admin.client.get(f"/admin/showcase/{star_id}/card-square.png?download=1")
    assert card.status_code == 200 and card.mimetype == "image/png"
    assert f'filename="exchange-{star_id}-square.png"' in card.headers["Content-Disposition"]
    assert Image.open(io.BytesIO(card.data)).size == (1080, 1080)
    assert any_admin.client.get(f"/admin/showcase/{star_id}/card-round.png").status_code == 404
    assert any_admin.client.get("/admin/showcase/999999/card-wide.png").status_code == 404

    bundle = any_admin.client.get("/admin/showcase/cards.zip?channel=twitter")
    assert bundle.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()
    assert names == [f"exchange-{star_id}-wide.png", f"exchange-{star_id}-square.png"]
    empty = any_admin.client.get("/admin/showcase/cards.zip?channel=cli", follow_redirects=True)
    assert "No starred exchanges match" in empty.text


def test_the_showcase_needs_a_login(any_admin: AdminActions) -> None:
    any_admin.logout()
    assert any_admin.client.get("/admin/showcase").status_code in (302, 303)
    assert any_admin.client.get("/admin/showcase/1/card-wide.png").status_code in (302, 303)


def test_privacy_masking_opt_out_and_forget(any_admin: AdminActions) -> None:
    sessions = any_admin.app.extensions["threadbot"].sessions
    with sessions() as db:
        turn = add_turn(
            db, "555", "I'm Priya Raman, mail me at priya@example.com or see https://x.co/a",
            channel="twitter", handle="priya_r", reply="Nice to meet you, Priya Raman!",
            entities=[{"label": "PERSON", "text": "Priya Raman", "start": 4, "end": 15}],
        )  # fmt: skip
        other = add_turn(db, "web-1", "hi", reply="Hello!", slots={"user_name": "Kim"})
        add_turn(db, "web-1", "call me Kim", reply="Will do, Kim.", slots={"user_name": "Kim"})
        db.commit()
        turn_id, other_id = turn.id, other.id
    any_admin.post(f"/admin/turns/{turn_id}/star")
    any_admin.post(f"/admin/turns/{other_id + 1}/star", {"context": "1"})
    bot = BotIdentity("Ada")
    with sessions() as db:
        shown = {e.turn_id: e for e in starred(db, bot)}
        revealed = starred(db, bot, show_handles=True)
    priya = shown[turn_id]
    text = " ".join(s.text for s in priya.said)
    for secret in ("Priya", "Raman", "priya@example.com", "https://", "priya_r"):
        assert secret not in text
    assert priya.said[1].text == "Nice to meet you, •••!"
    assert (priya.user_name, priya.user_handle) == ("Someone on X", "@p•••")
    assert {e.user_handle for e in revealed} == {"@priya_r", None}
    kim = shown[other_id + 1]
    assert [s.text for s in kim.said] == ["hi", "Hello!", "call me •••", "Will do, •••."]
    assert kim.user_name == "Web visitor"

    with sessions.begin() as db:
        db.scalar(select(User).where(User.external_id == "web-1")).opted_out = True
    page = any_admin.client.get("/admin/showcase").text
    assert "Will do" not in page and "1 starred exchange<" in page
    with sessions() as db:
        star_id = db.scalar(select(Star.id).where(Star.turn_id == other_id + 1))
    assert any_admin.client.get(f"/admin/showcase/{star_id}/card-wide.png").status_code == 404

    with sessions.begin() as db:
        forget(db, find_users(db, "priya_r"))
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Star).where(Star.turn_id == turn_id)) == 0
    assert "0 starred exchanges" in any_admin.client.get("/admin/showcase").text


def test_hostile_text_on_the_showcase_page_is_text(any_admin: AdminActions) -> None:
    # No lone surrogate: PostgreSQL stores none (the chat refuses them; the card tests have one).
    hostile = '<img src=x onerror="alert(1)">\u202etxt.exe\u200b {{ 7*7 }}'
    with any_admin.app.extensions["threadbot"].sessions() as db:
        turn = add_turn(db, "eve", hostile, reply=hostile)
        db.commit()
    any_admin.post(f"/admin/turns/{turn.id}/star")
    page = any_admin.client.get("/admin/showcase")
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
    with any_admin.app.extensions["threadbot"].sessions() as db:
        star_id = db.scalar(select(Star.id))
    card = any_admin.client.get(f"/admin/showcase/{star_id}/card-wide.png")
    assert Image.open(io.BytesIO(card.data)).size == (1200, 675)


def test_the_showcase_pages_its_stars(any_admin: AdminActions) -> None:
    any_admin.app.config["PAGE_SIZE"] = 2
    with any_admin.app.extensions["threadbot"].sessions() as db:
        ids = [add_turn(db, f"u{n}", f"message {n}", reply=f"reply {n}").id for n in range(5)]
        db.commit()
    for turn_id in ids:
        any_admin.post(f"/admin/turns/{turn_id}/star")
    first = any_admin.client.get("/admin/showcase").text
    assert "5 starred exchanges" in first and first.count('class="showcase-item"') == 2
    assert "message 4" in first and "page 1 of 3" in first and 'rel="next"' in first
    last = any_admin.client.get("/admin/showcase?page=3").text
    assert last.count('class="showcase-item"') == 1 and "message 0" in last
    assert 'rel="next"' not in last


def test_two_reviewers_starring_one_turn_at_once_leave_one_star(any_admin: AdminActions) -> None:
    sessions = any_admin.app.extensions["threadbot"].sessions
    with sessions() as db:
        turn_id = add_turn(db, "ana", "hello there", reply="Hi!").id
        db.commit()
    with sessions() as first:
        raced = []

        def other_reviewer(session: Session, *_: object) -> None:
            if not raced:  # between the first reviewer's look and its insert
                raced.append(True)
                with sessions.begin() as second:
                    star(second, turn_id, None, context=2)

        event.listen(first, "before_flush", other_reviewer)
        kept = star(first, turn_id, None, context=1)
        first.commit()
    assert raced and kept.context == 1
    with sessions() as db:
        assert [(s.turn_id, s.context) for s in db.scalars(select(Star))] == [(turn_id, 1)]


def starred_mention(
    admin: AdminActions, text: str, reply: str, handle: str, name: str | None = None
) -> None:
    """A starred turn on X, with the mention as X sent it (``handle``: the one it came with)."""
    with admin.app.extensions["threadbot"].sessions.begin() as db:
        turn = add_turn(db, "77", text, channel="twitter", handle="jo_b", reply=reply)
        mention = InboxMention(tweet_id=1001, account_id="1", author_id="77", text=f"@bot {text}")
        mention.author_handle, mention.author_name, mention.turn_id = handle, name, turn.id
        db.add(mention)
        star(db, turn.id, None)


def test_display_names_from_x_are_masked_in_replies_and_shown_only_when_asked(
    any_admin: AdminActions,
) -> None:
    sessions = any_admin.app.extensions["threadbot"].sessions
    reply = "Hey Jo \u202eBloggs\u202c! Ask me about AI."
    starred_mention(any_admin, "hey bot", reply, "jo_b", "Jo \u202eBloggs\u202c")
    with sessions() as db:
        (masked,) = starred(db, BotIdentity("Ada"))
        (shown,) = starred(db, BotIdentity("Ada"), show_handles=True)
    assert masked.said[1].text == "Hey •••! Ask me about AI."
    assert (masked.user_name, masked.user_handle) == ("Someone on X", "@j•••")
    assert (shown.user_name, shown.user_handle) == ("Jo Bloggs", "@jo_b")


def test_invisible_characters_cannot_smuggle_a_handle_or_number_past_the_mask(
    any_admin: AdminActions,
) -> None:
    sessions = any_admin.app.extensions["threadbot"].sessions
    message = "ask @\u200bjack or call 0770\u200b0900123, I'm jo\u00ad_b"
    starred_mention(any_admin, message, "Hi oldname! Will do.", "oldname")
    with sessions() as db:
        (found,) = starred(db, BotIdentity("Ada"))
    text = " ".join(s.text for s in found.said)
    for secret in ("jack", "0900123", "jo_b", "oldname", "\u200b", "\u00ad"):
        assert secret not in text, secret
    assert found.said[1].text == "Hi •••! Will do."  # the handle the reply greeted, renamed since


def test_opted_out_people_cannot_be_starred_and_a_second_star_is_the_newest(
    any_admin: AdminActions,
) -> None:
    sessions = any_admin.app.extensions["threadbot"].sessions
    with sessions.begin() as db:
        gone = add_turn(db, "quiet", "hello", reply="Hi!")
        first = add_turn(db, "ana", "one", reply="One!")
        second = add_turn(db, "bob", "two", reply="Two!")
        db.scalar(select(User).where(User.external_id == "quiet")).opted_out = True
    refused = any_admin.post(f"/admin/turns/{gone.id}/star", follow_redirects=True)
    assert "Not starred: this person opted out" in refused.text
    for turn_id in (first.id, second.id, first.id):  # ana's exchange starred again, last
        any_admin.post(f"/admin/turns/{turn_id}/star")
    with sessions() as db:
        assert [e.turn_id for e in starred(db, BotIdentity("Ada"))] == [first.id, second.id]
