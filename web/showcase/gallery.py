"""``showcase export``: a static gallery page of the starred exchanges, ready to publish.

The folder holds ``index.html`` and ``cards/``; the page loads nothing from outside it (no
script, no web font, styles inline), and holds only what an :class:`Exchange` holds: no
reviewer, no admin link, no turn or conversation number. Cards from an earlier export that
are no longer starred (unstarred, or their user forgotten) are deleted, so republishing the
folder withdraws them from wherever it is copied next; copies already published elsewhere
cannot be recalled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.showcase import cards
from web.showcase.exchanges import Exchange

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CARDS = "cards"
CHANNELS = {"twitter": "on X", "web": "in web chat", "cli": "in the terminal"}


class GalleryError(RuntimeError):
    """The output folder cannot take a gallery."""


def write_gallery(
    exchanges: Sequence[Exchange],
    out: Path,
    fonts: cards.Fonts,
    title: str,
    progress: Callable[[int], None] = lambda _n: None,
) -> Path:
    """Write the gallery of ``exchanges`` into ``out``; return the page's path.

    :raise GalleryError: ``out`` is a file, or a folder holding something else than a gallery.
    """
    if out.exists() and not out.is_dir():
        raise GalleryError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise GalleryError(f"{out} is not empty and holds no gallery: choose an empty folder")
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
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
