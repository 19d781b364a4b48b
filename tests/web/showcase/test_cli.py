"""``threadbot showcase export``: a static gallery with no admin data and nothing from outside."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from PIL import Image
from sqlalchemy import Engine, select

from agent.storage.db import make_sessionmaker
from agent.storage.models import User
from tests.web.conftest import add_turn
from web.review import accounts
from web.showcase.cli import showcase_group
from web.showcase.exchanges import star, unstar


def seed_gallery(engine: Engine) -> dict[str, int]:
    """Three starred exchanges: one on X, one with hostile text, one by an opted-out user."""
    with make_sessionmaker(engine).begin() as db:
        admin = accounts.create_admin(db, "alice", "correct horse battery")
        x = add_turn(
            db, "42", "robots are cool 🤖", channel="twitter", handle="jessie_b",
            reply="They are! Which one do you like best?", tier="generated",
        )  # fmt: skip
        odd = add_turn(db, "eve", '<script>alert(1)</script>\u202e "quoted"', reply="Hm?")
        gone = add_turn(db, "sam", "secret from sam", reply="ok")
        for turn in (x, odd, gone):
            star(db, turn.id, admin.id)
        db.scalar(select(User).where(User.external_id == "sam")).opted_out = True
        return {"x": x.id, "odd": odd.id, "gone": gone.id}


def test_export_writes_a_private_self_contained_gallery(
    runner: CliRunner, sqlite_engine: Engine, tmp_path: Path
) -> None:
    ids = seed_gallery(sqlite_engine)
    out = tmp_path / "gallery"
    done = runner.invoke(showcase_group, ["export", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "wrote 2 exchange(s)" in done.output
    assert "cannot be recalled" in done.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Conversations with Ada" in page and "Handles and names are masked" in page
    assert "robots are cool" in page and "@j•••" not in page  # the page shows names, not handles
    assert "jessie_b" not in page and "secret from sam" not in page
    assert "alice" not in page and "/admin" not in page and "generated" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "\u202e" not in page
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(re.fullmatch(r"cards/exchange-\d+-(wide|square)\.png", u) for u in links)
    cards = sorted(p.name for p in (out / "cards").iterdir())
    assert len(cards) == 4
    for card in cards:
        with Image.open(out / "cards" / card) as image:
            size = image.size
        assert size == ((1200, 675) if "wide" in card else (1080, 1080))

    with make_sessionmaker(sqlite_engine).begin() as db:
        unstar(db, ids["odd"])
    again = runner.invoke(showcase_group, ["export", "--out", str(out), "--show-handles"])
    assert again.exit_code == 0, again.output
    assert len(list((out / "cards").iterdir())) == 2  # the unstarred exchange's cards are gone
    shown = (out / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" not in shown and "Handles and names are masked" not in shown


def test_export_filters_and_refuses_a_folder_that_is_not_a_gallery(
    runner: CliRunner, sqlite_engine: Engine, tmp_path: Path
) -> None:
    seed_gallery(sqlite_engine)
    args = ["export", "--out", str(tmp_path / "x"), "--channel", "twitter"]
    only_x = runner.invoke(showcase_group, args)
    assert only_x.exit_code == 0 and "wrote 1 exchange(s)" in only_x.output
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    refused = runner.invoke(showcase_group, ["export", "--out", str(busy)])
    assert refused.exit_code == 1 and "holds other files than a threadbot gallery" in refused.output
    assert (busy / "notes.txt").read_text() == "mine"
    # Someone else's site root is never overwritten; an export stopped after its cards is
    # finished by the next one.
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>my blog</h1>")
    assert runner.invoke(showcase_group, ["export", "--out", str(site)]).exit_code == 1
    assert (site / "index.html").read_text() == "<h1>my blog</h1>"
    stopped = tmp_path / "stopped"
    (stopped / "cards").mkdir(parents=True)
    (stopped / "cards" / "exchange-9-wide.png").write_bytes(b"")
    assert runner.invoke(showcase_group, ["export", "--out", str(stopped)]).exit_code == 0
    assert not (stopped / "cards" / "exchange-9-wide.png").exists()
    bad = runner.invoke(showcase_group, ["export", "--out", str(tmp_path / "y"), "--since", "soon"])
    assert bad.exit_code == 2 and "soon" in bad.output
