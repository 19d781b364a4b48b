"""Tweet normalisation: one plain, lowercase form per token, so noise does not split features."""

from __future__ import annotations

import re
import unicodedata

from spacy.tokens import Doc

MENTION = "@user"
URL = "http"
# Three or more of one letter become two: "soooo" -> "soo" keeps "good" and "too" intact.
_REPEATS = re.compile(r"(\w)\1{2,}")
# Splits a hashtag like "MachineLearning" or "AIsafety2024" into words.
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def normalize_token(text: str, norm: str, like_url: bool = False, after_hash: bool = False) -> str:
    """Return the normal form of one token; ``norm`` is spaCy's lowercase norm of it."""
    if like_url or text.startswith(("http://", "https://", "www.")):
        return URL
    if text.startswith("@") and len(text) > 1:
        return MENTION
    if after_hash:
        words = _CAMEL.findall(text)
        return " ".join(words).lower() if words else norm
    if len(text) == 1 and _is_emoji(text):
        return "emoji_" + unicodedata.name(text, "symbol").lower().replace(" ", "_")
    return _REPEATS.sub(r"\1\1", norm)


def normalize_doc(doc: Doc) -> Doc:
    """Set every token's ``norm_`` to its tweet-normalised form and return the doc."""
    previous = ""
    for token in doc:
        after_hash = previous == "#" and not token.is_punct and token.idx == _end(doc, token.i - 1)
        token.norm_ = normalize_token(token.text, token.norm_, token.like_url, after_hash)
        previous = token.text
    return doc


def normalized_text(doc: Doc) -> str:
    """The doc's normalised tokens joined by spaces: what the intent classifier reads."""
    # A bare "#" only marks a hashtag, whose words the next token already carries.
    return " ".join(t.norm_ for t in doc if t.text != "#" and not t.is_space)


def _end(doc: Doc, i: int) -> int:
    """Character offset just after token ``i`` (or -1 when there is none)."""
    return doc[i].idx + len(doc[i].text) if i >= 0 else -1


def _is_emoji(char: str) -> bool:
    """True for pictographs and other symbols that tweets use as words."""
    return unicodedata.category(char) == "So"
