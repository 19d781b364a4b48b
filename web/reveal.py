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
        if hidden(char) and not (char == _ZWJ and _in_emoji(text, at)):
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


def without_hidden(text: str) -> str:
    """``text`` with its hidden characters removed (for what is published, not reviewed)."""
    return "".join(shown for shown, _ in _pieces(text))


def init_app(app: Flask) -> None:
    """Offer ``reveal`` and ``reveal_plain`` as template filters."""
    app.add_template_filter(reveal)
    app.add_template_filter(reveal_plain)
