"""Tweet length the way Twitter counts it (twitter-text v3 weighted length).

The rules, from twitter-text's ``v3`` configuration: text is NFC-normalised; each code point
weighs 100 if it lies in one of the light ranges (Latin, common punctuation) and 200
otherwise; the limit is 28000 weight units, i.e. 280 "characters"; a URL always weighs 23
characters; an emoji sequence (with skin tones, joiners, variation selectors, flags or tags)
weighs 2 characters whatever its code points. We implement it here because the PyPI port
(twitter-text-parser) imports ``pkg_resources``, which modern setuptools no longer ships.
"""

from __future__ import annotations

import re
import unicodedata

# The one tweet limit: what a reply may weigh, and what the sandbox and the agent count to.
TWEET_LIMIT = 280
URL_LENGTH = 23
_SCALE = 100
_DEFAULT_WEIGHT = 200
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s]+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}/[^\s]*", re.I)

_ZWJ = 0x200D
_VS16 = 0xFE0F


def _is_emoji_base(cp: int) -> bool:
    return (
        0x1F000 <= cp <= 0x1FAFF  # pictographs, emoticons, transport, flags, extended-A
        or 0x2600 <= cp <= 0x27BF  # misc symbols and dingbats
        or 0x2B00 <= cp <= 0x2BFF  # arrows and stars such as ⭐
        or 0x2300 <= cp <= 0x23FF  # technical: ⌚ ⏰
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D)
    )


def _is_emoji_modifier(cp: int) -> bool:
    return 0x1F3FB <= cp <= 0x1F3FF or cp == _VS16 or 0xE0020 <= cp <= 0xE007F or cp == 0x20E3


def _weight(cp: int) -> int:
    return _SCALE if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else _DEFAULT_WEIGHT


def _text_weight(text: str) -> int:
    cps = [ord(ch) for ch in text]
    total, i = 0, 0
    while i < len(cps):
        cp = cps[i]
        if _is_emoji_base(cp) or (cp < 0x80 and i + 1 < len(cps) and cps[i + 1] in (_VS16, 0x20E3)):
            # One emoji sequence: base, modifiers, and more bases joined by ZWJ (or a flag pair).
            j = i + 1
            if 0x1F1E6 <= cp <= 0x1F1FF and j < len(cps) and 0x1F1E6 <= cps[j] <= 0x1F1FF:
                j += 1
            while j < len(cps):
                if _is_emoji_modifier(cps[j]):
                    j += 1
                elif cps[j] == _ZWJ and j + 1 < len(cps) and _is_emoji_base(cps[j + 1]):
                    j += 2
                else:
                    break
            total += _DEFAULT_WEIGHT
            i = j
        else:
            total += _weight(cp)
            i += 1
    return total


def weighted_length(text: str) -> int:
    """Length in Twitter characters (what ``TWEET_LIMIT`` applies to)."""
    text = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for m in _URL_RE.finditer(text):
        total += _text_weight(text[pos : m.start()]) + URL_LENGTH * _SCALE
        pos = m.end()
    total += _text_weight(text[pos:])
    return -(-total // _SCALE)


def fit(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary so that it weighs at most ``max_chars``; may be ''."""
    if weighted_length(text) <= max_chars:
        return text
    words = text.split()
    while words and weighted_length(" ".join(words)) > max_chars:
        words.pop()
    return " ".join(words)
