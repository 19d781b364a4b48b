"""Words as retrieval and the ranker see them: lower-cased tokens, and the content words that
say what a text is about."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

_WORD_RE = re.compile(r"[a-z0-9']+")
_STOPWORD_TEXT = """
a about after again all also am an and any are as at be been being but by can could did do does
doing don't for from get got had has have having how i i'm if in into is it it's its just like me
more most my no not now of on or other our out really so some such than that that's the their
them then there these they this those to too up very was we were what when where which who why
will with would you your you're yes yeah yep nope oh ok okay lol haha hahaha hmm well im dont
thats think know want going go thing things lot much one see make say
"""
# Words too common to say what a message is about; FTS5 would match half the index on them.
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def words(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes kept ("don't"), curly ones straightened."""
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


def content_words(text: str) -> list[str]:
    """Words of ``text`` that say what it is about (no stopwords, no bare numbers)."""
    return [w for w in words(text) if w not in STOPWORDS and not w.isdigit() and len(w) > 1]


def weighted_cosine(a: Iterable[str], b: Iterable[str], weight: Callable[[str], float]) -> float:
    """Cosine of two word lists as vectors of count x ``weight(word)`` (TF-IDF with an IDF as
    ``weight``); 0 when they share no word or either is empty."""

    def vector(ws: Iterable[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for w in ws:
            out[w] = out.get(w, 0.0) + weight(w)
        return out

    va, vb = vector(a), vector(b)
    dot = sum(v * vb.get(w, 0.0) for w, v in va.items())
    norm = math.sqrt(sum(v * v for v in va.values()) * sum(v * v for v in vb.values()))
    return dot / norm if norm else 0.0
