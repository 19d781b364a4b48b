"""``showcase export``: a static gallery page of the starred exchanges, ready to publish.

The folder holds ``index.html`` and ``cards/``; the page loads nothing from outside it (no
script, no web font, styles inline), and holds only what an :class:`Exchange` holds: no
reviewer, no admin link, no turn or conversation number. Cards from an earlier export that
are no longer starred (unstarred, or their user forgotten) are deleted, so republishing the
folder withdraws them from wherever it is copied next; copies already published elsewhere
cannot be recalled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.showcase import cards
from web.showcase.exchanges import Exchange

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CARDS = "cards"
CARD_FILE = re.compile(r"exchange-\d+-\w+\.png")
# The page's generator tag: an index.html without it is someone else's, never overwritten.
GENERATOR = "threadbot showcase export"
CHANNELS = {"twitter": "on X", "web": "in web chat", "cli": "in the terminal"}


def _holds_a_gallery_or_nothing(out: Path) -> bool:
    """Whether ``out`` is empty, holds a page this module wrote (its generator tag), or only
    the cards of an export that stopped before writing its page."""
    index = out / "index.html"
    if index.is_file():
        return GENERATOR in index.read_text(encoding="utf-8", errors="replace")[:2000]
    entries = list(out.iterdir())
    if not entries:
        return True
    folder = out / CARDS
    return entries == [folder] and all(
        CARD_FILE.fullmatch(p.name) and p.is_file() for p in folder.iterdir()
    )


class GalleryError(RuntimeError):
    """The output folder cannot take a gallery."""


def write_gallery(
    exchanges: Sequence[Exchange],
    out: Path,
    fonts: cards.Fonts,
    title: str,
    progress: Callable[[int], None] = lambda _n: None,
    masked: bool = True,
) -> Path:
    """Write the gallery of ``exchanges`` into ``out``; return the page's path. ``masked``:
    whether people's handles were masked (the page says which).

    :raise GalleryError: ``out`` is a file, or a folder holding something else than a gallery.
    """
    if out.exists() and not out.is_dir():
        raise GalleryError(f"{out} is a file, not a folder")
    if out.is_dir() and not _holds_a_gallery_or_nothing(out):
        raise GalleryError(
            f"{out} holds other files than a threadbot gallery: choose an empty folder"
        )
    folder = out / CARDS
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for exchange in exchanges:
        for shape in cards.SHAPES:
            name = cards.card_name(exchange, shape)
            (folder / name).write_bytes(cards.png(exchange, shape, fonts))
            written.add(name)
        progress(1)
    for stale in folder.glob("exchange-*.png"):
        if stale.name not in written:
            stale.unlink()
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True)
    )
    page = env.get_template("showcase/gallery.html").render(
        title=title,
        exchanges=exchanges,
        cards_folder=CARDS,
        card_name=cards.card_name,
        card_text=cards.card_text,
        shapes=cards.SHAPES,
        channels=CHANNELS,
        made=datetime.now(UTC),
        masked=masked,
        generator=GENERATOR,
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
