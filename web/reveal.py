"""User text on admin pages: isolated from the page's direction, invisible characters shown.

A bidi override can make ``txt.exe`` read ``exe.txt`` and a zero-width joiner can make
``ad\\u200dmin`` read ``admin``; a reviewer must see what was really sent. Exports keep the raw
text: it is data, not display.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from flask import Flask
from markupsafe import Markup, escape

# Format (bidi controls, zero-width, soft hyphen, tags), control, lone surrogate, line and
# paragraph separator characters draw nothing, or move what is around them.
_HIDDEN_CATEGORIES = {"Cf", "Cc", "Cs", "Zl", "Zp"}
# Letters and marks that draw nothing, used for blank-looking names.
_BLANK = {"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0"}
_ZWJ = "\u200d"
_BLACK_FLAG, _CANCEL_TAG = "\U0001f3f4", "\U000e007f"
# Combining marks kept on one letter when published: Vietnamese and pointed Hebrew use 2-3.
MAX_MARKS = 4
# Only these are looked at: printable ASCII, newline and tab are always shown as they are.
_CANDIDATE = re.compile(r"[^\x20-\x7e\n\t]")


def hidden(char: str) -> bool:
    """Whether ``char`` is invisible or reorders text around it."""
    return unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK


def _in_emoji(text: str, at: int) -> bool:
    """A zero-width joiner that glues two emoji (as in a family emoji) is part of a picture."""
    before, after = text[at - 1 : at], text[at + 1 : at + 2]
    return (
        bool(before and after)
        and unicodedata.category(before) in {"So", "Sk", "Mn"}
        and unicodedata.category(after) == "So"
    )


def _in_flag(text: str, at: int) -> bool:
    """A tag character inside a subdivision flag (🏴 then tags spelling "gbeng", then the
    cancel tag: England's flag) is part of a picture; anywhere else it smuggles hidden text."""
    start = at
    while start > 0 and "\U000e0020" <= text[start - 1] <= "\U000e007f":
        start -= 1
    end = at
    while end < len(text) and "\U000e0020" <= text[end] <= "\U000e007e":
        end += 1
    return start > 0 and text[start - 1] == _BLACK_FLAG and text[end : end + 1] == _CANCEL_TAG


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the code point and, where Unicode has one, the name."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def _marker(char: str) -> Markup:
    label = describe(char)
    return Markup(
        '<span class="hidden-char" role="img" title="{0}" aria-label="{0}">{1}</span>'
    ).format(label, "\u25cc")


def _pieces(text: str) -> Iterator[tuple[str, str | None]]:
    """Runs of text to show as they are, each with the hidden character after it (or None)."""
    pos = 0
    for found in _CANDIDATE.finditer(text):
        char, at = found[0], found.start()
        in_picture = (char == _ZWJ and _in_emoji(text, at)) or (
            char >= "\U000e0020" and _in_flag(text, at)
        )
        if hidden(char) and not in_picture:
            yield text[pos:at], char
            pos = at + 1
    yield text[pos:], None


def reveal(text: str | None) -> Markup:
    """``text`` escaped inside ``<bdi>``, each hidden character replaced by a visible marker
    whose tooltip names it."""
    if text is None:
        return Markup("")
    inner = Markup("").join(
        escape(shown) + (_marker(char) if char else "") for shown, char in _pieces(text)
    )
    return Markup("<bdi>{}</bdi>").format(inner)


def reveal_plain(text: str | None) -> str:
    """``text`` for places that hold no markup (the page title): hidden characters as ``<U+…>``."""
    return "".join(
        shown + (f"<U+{ord(char):04X}>" if char else "") for shown, char in _pieces(text or "")
    )


def published_text(text: str) -> str:
    """``text`` as the showcase publishes it (reviewers see it revealed, above): every space,
    line or paragraph separator one space, hidden characters removed, and stacks of combining
    marks cut to ``MAX_MARKS`` (a hundred would draw over the lines around them)."""
    spaced = "".join(" " if char.isspace() else char for char in text)
    shown, marks = [], 0
    for char in "".join(part for part, _ in _pieces(spaced)):
        marks = marks + 1 if unicodedata.category(char) in {"Mn", "Me"} else 0
        if marks <= MAX_MARKS:
            shown.append(char)
    return " ".join("".join(shown).split())


def init_app(app: Flask) -> None:
    """Offer ``reveal`` and ``reveal_plain`` as template filters."""
    app.add_template_filter(reveal)
    app.add_template_filter(reveal_plain)
