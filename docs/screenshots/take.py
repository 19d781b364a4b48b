"""Take the README's screenshots: a seeded database, the real app, headless Chromium.

.venv/bin/python docs/screenshots/take.py        # writes docs/screenshots/*.png
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from agent.settings import load_settings  # noqa: E402
from agent.storage import migrate  # noqa: E402
from agent.storage.db import make_engine  # noqa: E402
from agent.storage.models import Turn  # noqa: E402
from bench.web import seed  # noqa: E402
from web import create_app  # noqa: E402
from web.review import accounts  # noqa: E402
from web.showcase.exchanges import star  # noqa: E402

OUT = Path(__file__).resolve().parent
PASSWORD = "screenshot-password-1"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/shots.db")
        migrate.upgrade(engine)
        seed(engine, users=400, turns=9000, days=45)
        settings = load_settings(database_url=str(engine.url), generator_model=Path("/none"))
        app = create_app({"SETTINGS": settings, "ENGINE": engine, "SECRET_KEY": "shots"})
        with app.extensions["threadbot"].sessions.begin() as session:
            admin = accounts.create_admin(session, "alice", PASSWORD)
            # Three exchanges for the showcase: the newest answered turns on X.
            picked = session.scalars(
                select(Turn.id)
                .where(Turn.channel == "twitter", Turn.reply_text.is_not(None))
                .order_by(Turn.id.desc())
                .limit(3)
            )
            for turn_id in picked:
                star(session, turn_id, admin.id, context=1)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(base + "/")
            for text in ("hello", "I'm curious about robotics", "yes, definitely"):
                page.fill("#text", text)
                page.press("#text", "Enter")
                page.wait_for_timeout(400)
            page.screenshot(path=OUT / "chat.png")
            page.goto(base + "/admin/login")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:text('Log in')")
            page.wait_for_selector("#chart-messages")
            page.screenshot(path=OUT / "dashboard.png", full_page=True)
            page.goto(base + "/admin/conversations?channel=twitter")
            page.screenshot(path=OUT / "conversations.png")
            page.click("table.conversations tbody a >> nth=0")
            page.wait_for_selector("article.turn")
            page.screenshot(path=OUT / "thread.png")
            page.goto(base + "/admin/review")
            page.screenshot(path=OUT / "review.png")
            page.goto(base + "/admin/showcase")
            page.wait_for_load_state("networkidle")  # the cards in view are drawn
            page.screenshot(path=OUT / "showcase.png")
            browser.close()
        server.shutdown()
        engine.dispose()
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
