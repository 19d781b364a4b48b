"""The reply guard: rejects profanity and slurs, links, @handles, personal data and repeats."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from generator.clean import has_personal_data

# better-profanity's own leetspeak table, inverted: a character stands for these letters.
_LEET = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "1": "i",
        "!": "i",
        "0": "o",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "*": "",
    }
)
_WORD_RE = re.compile(r"[\w@$!*]+")  # apostrophes split "fool's" into "fool", "s"


@cache
def wordlist() -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """better-profanity's maintained word list: single words, and multi-word phrases."""
    text = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text()
    entries = [line.strip().lower() for line in text.splitlines() if line.strip()]
    singles = frozenset(e for e in entries if " " not in e)
    phrases = frozenset(tuple(e.split()) for e in entries if " " in e)
    return singles, phrases


def _words(text: str) -> list[str]:
    return [w.translate(_LEET) for w in _WORD_RE.findall(text.lower())]


def contains_profanity(text: str) -> bool:
    """True if a word (also in leetspeak, plural or possessive) or phrase is on the list.

    Whole-word matching, so "Scunthorpe" and "assignment" pass; better-profanity's own
    ``censor`` does the same but takes ~20 ms a call, too slow for a 40 ms reply budget.
    """
    singles, phrases = wordlist()
    words = _words(text)
    for w in words:
        if w in singles or (w.endswith("s") and w[:-1] in singles):
            return True
    if phrases:
        longest = max(len(p) for p in phrases)
        for i in range(len(words)):
            for n in range(2, longest + 1):
                if tuple(words[i : i + n]) in phrases:
                    return True
    return False


def _norm(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.lower()))


def is_repeat(reply: str, previous: str | None, threshold: float = 0.8) -> bool:
    """True if ``reply`` says what ``previous`` said: same words, or word-set Jaccard >= 0.8."""
    if not previous:
        return False
    a, b = _norm(reply), _norm(previous)
    if a == b:
        return True
    sa, sb = set(a), set(b)
    return bool(sa | sb) and len(sa & sb) / len(sa | sb) >= threshold


def check(reply: str, previous_bot_reply: str | None = None) -> str | None:
    """The reason ``reply`` must not be posted, checked in this order: ``empty``,
    ``profanity``, ``url``, ``personal_data`` or ``handle`` (``has_personal_data``), ``repeat``;
    None if it may. (The caller adds ``too_long`` and ``persona``, generator/service.py.)"""
    if not reply.strip():
        return "empty"
    if contains_profanity(reply):
        return "profanity"
    leak = has_personal_data(reply)
    if leak is not None:
        return leak
    if is_repeat(reply, previous_bot_reply):
        return "repeat"
    return None
