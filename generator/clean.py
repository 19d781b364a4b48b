"""Corpus cleaning: scrub personal data, cut long turns, filter by topic, dedup, split."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import replace

from generator.data import Conversation

URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|io|co|ly|gl)/\S*", re.I)
EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
HANDLE_RE = re.compile(r"(?<![\w@])@\w{1,15}\b")
# Phone numbers: 7+ digits with optional separators/country code; years and small counts pass.
PHONE_RE = re.compile(r"(?<!\w)\+?\(?\d{1,4}\)?(?:[\s.-]?\(?\d{2,4}\)?){2,5}(?!\w)")
_SPACE_RE = re.compile(r"\s+")


def _is_phone(match: re.Match[str]) -> bool:
    return sum(ch.isdigit() for ch in match.group()) >= 7


def scrub(text: str) -> str:
    """Remove URLs, emails, @handles and phone numbers, then normalise whitespace."""
    text = URL_RE.sub(" ", text)
    text = EMAIL_RE.sub(" ", text)
    text = HANDLE_RE.sub(" ", text)
    text = PHONE_RE.sub(lambda m: " " if _is_phone(m) else m.group(), text)
    return _SPACE_RE.sub(" ", text).strip()


def has_personal_data(text: str) -> str | None:
    """Name the first kind of personal data or link found in ``text``, else None."""
    if URL_RE.search(text):
        return "url"
    if EMAIL_RE.search(text):
        return "personal_data"
    if HANDLE_RE.search(text):
        return "handle"
    if any(_is_phone(m) for m in PHONE_RE.finditer(text)):
        return "personal_data"
    return None


def clean_conversation(conv: Conversation, max_turn_words: int) -> list[Conversation]:
    """Scrub each turn and cut it to ``max_turn_words``; a turn left empty splits the thread."""
    pieces: list[list[str]] = [[]]
    for turn in conv.turns:
        words = scrub(turn).split()[:max_turn_words]
        if words:
            pieces[-1].append(" ".join(words))
        elif pieces[-1]:
            pieces.append([])
    kept = [p for p in pieces if len(p) >= 2]
    if len(kept) == 1:
        return [replace(conv, turns=tuple(kept[0]))]
    return [replace(conv, id=f"{conv.id}#{n}", turns=tuple(p)) for n, p in enumerate(kept)]


def topic_filter(
    conversations: Iterable[Conversation], topics: Iterable[str] = (), keywords: Iterable[str] = ()
) -> list[Conversation]:
    """Keep conversations whose label is in ``topics`` or whose text mentions a keyword.

    With neither given everything passes; with both, either match keeps a conversation.
    """
    wanted = {t.lower() for t in topics}
    words = [k.lower() for k in keywords]
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b") if words else None
    if not wanted and pattern is None:
        return list(conversations)

    def keep(conv: Conversation) -> bool:
        if conv.topic is not None and conv.topic.lower() in wanted:
            return True
        return pattern is not None and any(pattern.search(t.lower()) for t in conv.turns)

    return [conv for conv in conversations if keep(conv)]


def dedup(conversations: Iterable[Conversation]) -> list[Conversation]:
    """Drop conversations whose turns (case- and space-insensitive) were already seen."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for conv in conversations:
        key = tuple(" ".join(t.lower().split()) for t in conv.turns)
        if key not in seen:
            seen.add(key)
            out.append(conv)
    return out


def split_conversations(
    conversations: Iterable[Conversation], val_fraction: float, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """Split by whole conversation, never by pair, so no thread sits on both sides.

    A source's own split wins; others go by a salted hash of the id (stable across runs and
    orderings). Pieces of one thread cut by cleaning (``id#n``) share their parent's side.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train, val = [], []
    for conv in conversations:
        if conv.split is not None:
            is_val = conv.split == "validation"
        else:
            parent = conv.id.split("#", 1)[0]
            digest = hashlib.sha1(f"{seed}:{parent}".encode()).digest()
            is_val = int.from_bytes(digest[:8], "big") / 2**64 < val_fraction
        (val if is_val else train).append(replace(conv, split="validation" if is_val else "train"))
    return train, val


def prepare(
    conversations: Iterable[Conversation],
    *,
    max_turn_words: int,
    topics: Iterable[str] = (),
    keywords: Iterable[str] = (),
) -> list[Conversation]:
    """Clean every conversation, apply the topic filter and drop duplicates."""
    cleaned = [
        piece for conv in conversations for piece in clean_conversation(conv, max_turn_words)
    ]
    return dedup(topic_filter(cleaned, topics, keywords))
