"""A person's path through the site in headless Chromium (Debian's package, via Playwright)."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from agent.storage.review_models import Annotation
from tests.web.conftest import PASSWORD, AdminActions, add_turn
from web.showcase.cards import Fonts
from web.showcase.exchanges import BotIdentity, star, starred
from web.showcase.gallery import write_gallery

CHROMIUM = os.environ.get("THREADBOT_CHROMIUM", "/usr/bin/chromium")

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module; CI must have it, elsewhere the tests skip."""
    missing = None
    if sync_playwright is None:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    elif not shutil.which(CHROMIUM):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        # Playwright drives the system browser; it never downloads one of its own.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free local port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    # Any CSP violation or script error means the page is broken for real visitors; a 422 is
    # the chat refusing an empty message on purpose (Chromium logs it as an error).
    expected = "the server responded with a status of 422"
    tab.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and expected not in m.text else None,
    )
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("dialog", lambda d: problems.append(f"dialog opened: {d.message}"))
    tab.problems = problems  # type: ignore[attr-defined]
    yield tab
    context.close()
    assert problems == []


def log_in(page: Page, live: str, next_url: str) -> None:
    """Log the test admin in through the login form, landing on ``next_url``."""
    page.goto(f"{live}/admin/login?next={next_url}")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:text('Log in')")


def test_chat_on_the_public_page(live: str, page: Page) -> None:
    page.goto(live + "/")
    expect(page.locator("h1")).to_contain_text("Chat with Ada")
    page.fill("#text", "hello")
    page.press("#text", "Enter")
    expect(page.locator(".msg.bot")).to_have_count(1)
    expect(page.locator(".msg.bot p")).not_to_be_empty()
    hostile = '<img src=x onerror="alert(1)"> I love robots'
    page.fill("#text", hostile)
    page.click("button:text('Send')")
    expect(page.locator(".msg.you p").last).to_have_text(hostile)  # shown as text, never run
    expect(page.locator(".msg.bot")).to_have_count(2)
    page.reload()  # the same browser keeps its conversation
    expect(page.locator(".msg.you")).to_have_count(2)
    expect(page.locator(".msg.you p").last).to_have_text(hostile)
    assert page.locator(".log img").count() == 0
    page.fill("#text", "\u200b ")  # only invisible characters
    page.press("#text", "Enter")
    expect(page.locator("#chat-error")).to_contain_text("Not sent: message is empty")


def test_admin_logs_in_searches_opens_annotates_and_exports(
    app: Flask, live: str, page: Page, db: Session, tmp_path: Path
) -> None:
    AdminActions(app, app.test_client()).create()
    add_turn(db, "ana", "tell me about robots", intent="share_interest")
    odd = add_turn(db, "bob", "my cat ate my homework", tier="canned", trusted=False)
    db.commit()

    page.goto(live + "/admin/conversations")
    expect(page).to_have_url(live + "/admin/login?next=/admin/conversations")
    log_in(page, live, "/admin/conversations")
    expect(page.locator("h1")).to_contain_text("Conversations")

    page.fill("input[name=q]", "homework")
    page.click("button:text('Filter')")
    expect(page.locator("h1 small")).to_have_text("1 found")
    page.click("table.conversations a:has-text('bob')")
    expect(page.locator("h1")).to_contain_text("bob")
    expect(page.locator(f"#turn-{odd.id} .user-text")).to_contain_text("my cat ate my homework")

    card = page.locator(f"#turn-{odd.id}")
    card.locator("summary:text('Annotate')").click()
    card.locator("input[value=bad]").check()
    card.locator("textarea[name=better_reply]").fill("Ha! Shall we talk about AI instead?")
    card.locator("select[name=corrected_intent]").select_option("out_of_scope")
    card.locator("input[name=approved]").check()
    card.locator("button:text('Save')").click()
    expect(page.locator(".flash")).to_contain_text(f"Turn {odd.id} saved.")
    expect(page.locator(f"#turn-{odd.id} .badge.verdict-bad")).to_be_visible()
    note = db.scalar(select(Annotation).where(Annotation.turn_id == odd.id))
    assert note is not None and note.approved and note.corrected_intent == "out_of_scope"

    page.click("nav.top a:text('Turns')")
    with page.expect_download() as download:
        page.click("a:text('CSV')")
    saved = tmp_path / "turns.csv"
    download.value.save_as(saved)
    text = saved.read_text()
    assert "my cat ate my homework" in text and "Shall we talk about AI instead?" in text


def test_dashboard_draws_charts_and_the_dialogue(
    app: Flask, live: str, page: Page, db: Session
) -> None:
    AdminActions(app, app.test_client()).create()
    add_turn(db, "ana", "hello")
    db.commit()
    log_in(page, live, "/admin/")
    expect(page.locator("h1")).to_contain_text("Dashboard")
    # The heading shows before the deferred chart scripts have run; wait for the last chart.
    # Polled from here: wait_for_function polls with eval inside the page, which the
    # console's Content-Security-Policy rightly refuses.
    drawn = (
        "typeof Chart !== 'undefined' && !!Chart.getChart(document.getElementById('chart-stance'))"
    )
    for _ in range(100):
        if page.evaluate(drawn):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("the dashboard's charts were never drawn")
    charts: Any = page.evaluate(
        "['chart-messages','chart-fallback','chart-tiers','chart-intents','chart-stance']"
        ".map(id => Chart.getChart(document.getElementById(id))?.config.type)"
    )
    assert charts == ["bar", "line", "doughnut", "bar", "bar"]
    box = page.locator("#chart-messages").bounding_box()
    assert box is not None and box["height"] > 100  # drawn, not collapsed
    expect(page.locator("svg.dialogue .state")).to_have_count(4)


def test_console_shows_spoofing_text_for_what_it_is(
    app: Flask, live: str, page: Page, db: Session, tmp_path: Path
) -> None:
    AdminActions(app, app.test_client()).create()
    # Raw, the override shows "invoiceexe.jpg won" and the joiner hides in "admin".
    turn = add_turn(
        db, "u1", "invoice\u202egpj.exe now", handle="ad\u200dmin", tier="canned", trusted=False
    )
    db.commit()
    log_in(page, live, f"/admin/conversations/{turn.conversation_id}")
    said = page.locator(f"#turn-{turn.id} .user-text bdi")
    expect(said).to_have_text("invoice\u25ccgpj.exe now")
    marker = said.locator(".hidden-char")
    expect(marker).to_be_visible()
    expect(marker).to_have_attribute("title", "U+202E RIGHT-TO-LEFT OVERRIDE")
    expect(page.locator("h1 bdi .hidden-char")).to_have_attribute(
        "title", "U+200D ZERO WIDTH JOINER"
    )
    # Laid out as typed: "gpj" left of "now", where an override would have put it right.
    lefts: Any = marker.evaluate(
        """(mark) => {
            const text = mark.nextSibling, range = document.createRange();
            const left = (start, end) => {
                range.setStart(text, start); range.setEnd(text, end);
                return range.getBoundingClientRect().left;
            };
            return [left(0, 3), left(text.length - 3, text.length)];
        }"""
    )
    assert lefts[0] < lefts[1]
    for url in ("/admin/conversations", "/admin/review", "/admin/turns"):
        page.goto(live + url)
        expect(page.locator(".hidden-char").first).to_be_visible()
    page.goto(f"{live}/admin/conversations/{turn.conversation_id}")
    page.screenshot(path=str(tmp_path / "spoofing.png"), full_page=True)


def test_star_an_exchange_open_the_showcase_and_download_its_card(
    app: Flask, live: str, page: Page, db: Session, tmp_path: Path
) -> None:
    AdminActions(app, app.test_client()).create()
    add_turn(db, "ana", "do robots dream?", reply="Only of electric sheep, they say.")
    turn = add_turn(db, "ana", "my dog stole my sandwich 🥪", reply="A bold dog! Did it share?")
    db.commit()
    log_in(page, live, f"/admin/conversations/{turn.conversation_id}")
    card = page.locator(f"#turn-{turn.id}")
    card.locator("select[name=context]").select_option("1")
    card.locator("button:text('☆ Star')").click()
    expect(page.locator(".flash")).to_contain_text(f"Turn {turn.id} starred")
    expect(page.locator(f"#turn-{turn.id} .badge.starred")).to_contain_text("1 earlier turn")

    page.click("nav.top a:text('Showcase')")
    expect(page.locator("h1 small")).to_have_text("1 starred exchange")
    preview = page.locator(".showcase-item img.card-preview")
    expect(preview).to_have_attribute("alt", re.compile("my dog stole my sandwich"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )
    assert preview.evaluate("img => img.naturalWidth") == 1200
    with page.expect_download() as download:
        page.click(".downloads a:has-text('square')")
    saved = tmp_path / "card.png"
    download.value.save_as(saved)
    with Image.open(saved) as image:
        assert image.size == (1080, 1080)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 10  # text and avatars drawn, not a blank sheet


def test_the_exported_gallery_loads_nothing_from_outside_its_folder(
    app: Flask, page: Page, db: Session, tmp_path: Path
) -> None:
    turn = add_turn(db, "42", "robots are cool 🤖 https://evil.example/x.png", reply="They are!")
    star(db, turn.id, None)
    db.commit()
    out = tmp_path / "gallery"
    exchanges = starred(db, BotIdentity("Ada"))
    index = write_gallery(exchanges, out, Fonts(), "Ada")
    asked: list[str] = []
    page.route("**/*", lambda route: (asked.append(route.request.url), route.continue_()))
    page.goto(index.as_uri())
    images = page.locator("figure img")
    expect(images).to_have_count(1)
    expect(images).to_have_js_property("naturalWidth", 1200)
    assert asked and all(url.startswith(out.as_uri() + "/") for url in asked), asked
