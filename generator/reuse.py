"""Which human replies may be reused as the bot's own, and why the others may not.

A retrieved reply is sent to a stranger, out of its own conversation. It is kept only when its
text may be reused (the corpus's licence or the operator's explicit word) and it stands on its
own: no names, places, dates or numbers of its own thread, no person it refers back to, not a
fragment ("yes", "lol"), no profanity and no personal data.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

from generator import guard
from generator.clean import has_personal_data
from generator.errors import GeneratorError
from generator.words import content_words, words

MIN_WORDS, MAX_WORDS = 3, 30

# Reasons a pair is left out of the index, in the order they are checked (the build report).
DROP_REASONS = (
    "too_short",
    "too_long",
    "context_bound",
    "names",
    "numbers_or_dates",
    "misspelt",
    "refers_back",
    "about_the_chat",
    "profanity",
    "personal_data",
)

_WORD_RE = re.compile(r"[A-Za-z0-9']+")
_DIGIT_RE = re.compile(r"\d")
_ELONGATED_RE = re.compile(r"([a-z])\1\1\1", re.I)  # "ohhhhh", "sooooo"
_DATES_RE = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|june|july|august|september|october|november|december|today|tonight|tomorrow|"
    r"yesterday|this weekend|last week|next week|this morning|last night)\b",
    re.I,
)
# A third person the reply's own conversation introduced ("he said", "her sister").
_REFERS_BACK_RE = re.compile(r"\b(?:he|she|him|her|his|hers|he's|she's)\b", re.I)
# Chitchat's writers were paid to chat from prompts: replies about that task ("How about a new
# prompt:", "let's end this chat") answer no one else's message.
_ABOUT_THE_CHAT_RE = re.compile(
    r"\b(?:prompts?|m?turk(?:ers?)?|this (?:chat|conversation)|chat ?room|the topic)\b", re.I
)
# Capitalised words that are not names: sentence starts are skipped separately.
_NOT_NAMES = frozenset({"I", "I'm", "I've", "I'll", "I'd", "OK", "Ok", "AI", "TV", "USA", "US"})
_SENTENCE_END = frozenset(".!?")
_TITLES = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "prof."})
# A message with fewer content words than this gives retrieval nothing to match on: its reply
# answers the thread, not the message ("yes", "me too", "why?").
_MIN_MESSAGE_WORDS = 2


class ReuseNotAllowedError(GeneratorError):
    """A corpus whose text may not be reused was offered to the reply index."""


@dataclass(frozen=True)
class ReplySource:
    """A corpus offered to the index: its name, its licence, and whether replies may be reused.

    chitchat-dataset is MIT-licensed; a corpus collected from X carries other people's tweets,
    and reposting them is the operator's decision (``--allow-reuse``), never a default.
    """

    name: str
    licence: str
    reuse_allowed: bool

    def check(self) -> None:
        """Raise :class:`ReuseNotAllowedError` unless this corpus may be indexed."""
        if not self.reuse_allowed:
            raise ReuseNotAllowedError(
                f"corpus {self.name!r} ({self.licence}) has no consent to reuse its text: its "
                "replies would be posted as the bot's own. Pass --allow-reuse only if you may "
                "repost them (docs/generator.md, 'Reply index')."
            )


CHITCHAT = ReplySource("chitchat", "MIT (chitchat-dataset)", reuse_allowed=True)


def _has_name(text: str) -> bool:
    """A capitalised word inside a sentence: most likely a name, a place or a brand."""
    after_end = True
    for token in re.findall(r"[A-Za-z][A-Za-z'.]*|[.!?]", text):
        if token in _SENTENCE_END:
            after_end = True
            continue
        if not after_end and token[0].isupper() and token.rstrip(".") not in _NOT_NAMES:
            return True
        # "Yes. Robots..." : the word took its full stop; a title ("Mr.") is not an end.
        after_end = token.endswith(".") and token.lower() not in _TITLES
    return False


def _misspelt(reply: str, vocabulary: Container[str]) -> bool:
    """A word the vocabulary has never seen (typos such as "expeive", slang such as "gurs")
    or a stretched one ("ohhhhh"): a stranger reads it as noise, and the LSTM's language
    model finds it so unlikely that the anti-LM term would reward it."""
    if _ELONGATED_RE.search(reply):
        return True
    return any(
        len(w) > 2 and w.isalpha() and w not in vocabulary and w.replace("'", "") not in vocabulary
        for w in (t.strip("'") for t in words(reply))
    )


def drop_reason(message: str, reply: str, vocabulary: Container[str] | None = None) -> str | None:
    """Why the ``reply`` to ``message`` must stay out of the index (a :data:`DROP_REASONS`
    entry), or None when it may be reused on its own. ``vocabulary``, when given, is the set
    of known words a reply must keep to."""
    words = _WORD_RE.findall(reply)
    if len(words) < MIN_WORDS:
        return "too_short"
    if len(words) > MAX_WORDS:
        return "too_long"
    if len(content_words(message)) < _MIN_MESSAGE_WORDS:
        return "context_bound"
    if _has_name(reply):
        return "names"
    if _DIGIT_RE.search(reply) or _DATES_RE.search(reply):
        return "numbers_or_dates"
    if vocabulary is not None and _misspelt(reply, vocabulary):
        return "misspelt"
    if _REFERS_BACK_RE.search(reply):
        return "refers_back"
    if _ABOUT_THE_CHAT_RE.search(reply):
        return "about_the_chat"
    if guard.contains_profanity(reply) or guard.contains_profanity(message):
        return "profanity"
    if has_personal_data(reply) or has_personal_data(message):
        return "personal_data"
    return None
