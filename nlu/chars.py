"""Characters that carry no words: one definition for every place that drops them."""

from __future__ import annotations

import re

# Zero-width and bidi controls, word joiners, the BOM and the soft hyphen: invisible to a
# reader, so they must not break tokenizers and exact-match rules, nor make two texts differ.
# A regex character class body, for patterns that drop more (see nlu/acts.py).
INVISIBLE_CHARS = "\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad"
INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
# Half of a UTF-16 pair: JSON can carry one ("\ud800"), but it is no character, and no
# database or tokenizer can encode it as UTF-8.
SURROGATE_CHARS = "\ud800-\udfff"
SURROGATE = re.compile(f"[{SURROGATE_CHARS}]")
