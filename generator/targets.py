"""Which training replies are too generic to learn from: a frequency and an information filter.

A seq2seq trained by maximum likelihood learns the replies that fit every message ("lol",
"that's true", "i don't know") because they are the most frequent targets. Dropping them from
the training targets (never from the contexts, never from validation) moves probability mass to
replies that answer the message. Two measurable reasons, reported with examples:

- ``frequent``: the normalised reply text is more than ``max_share`` of all training replies;
- ``low_information``: the reply's mean word surprisal under a unigram model of the training
  replies is below ``min_surprisal`` nats, i.e. it is made only of very common words (this also
  catches emoji-only or punctuation-only replies, which have no words at all).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_WORD_RE = re.compile(r"[a-z0-9']+")
FREQUENT, LOW_INFORMATION = "frequent", "low_information"


def normalise(text: str) -> str:
    """Lower-case words only: "That's true!!" and "that's true" count as one reply."""
    return " ".join(_WORD_RE.findall(text.lower()))


@dataclass
class FilterReport:
    """What a :class:`TargetFilter` dropped, why, and the most frequent examples of each."""

    total: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        """Replies that remain training targets."""
        return self.total - sum(self.dropped.values())

    def add(self, text: str, reason: str | None) -> None:
        """Count one reply and, when dropped, its reason and normalised text."""
        self.total += 1
        if reason is not None:
            self.dropped[reason] += 1
            self.examples.setdefault(reason, Counter())[normalise(text) or text.strip()] += 1

    def summary(self, examples: int = 8) -> str:
        """One line per reason, with its share and the most frequent dropped replies."""
        lines = [f"target filter: kept {self.kept} of {self.total} training replies"]
        for reason, n in self.dropped.most_common():
            top = ", ".join(f"{t!r} x{c}" for t, c in self.examples[reason].most_common(examples))
            lines.append(f"  dropped {n} ({n / max(1, self.total):.1%}) {reason}: {top}")
        return "\n".join(lines)

    def to_dict(self, examples: int = 50) -> dict[str, Any]:
        """Plain dict for ``filter_report.json``."""
        return {
            "total": self.total,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "examples": {
                r: [{"text": t, "count": c} for t, c in ex.most_common(examples)]
                for r, ex in self.examples.items()
            },
        }

    def write(self, path: Path) -> None:
        """Write :meth:`to_dict` as JSON."""
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")


class TargetFilter:
    """Fitted on the training replies; :meth:`reason` says why one should not be a target."""

    def __init__(self, replies: Iterable[str], max_share: float, min_surprisal: float) -> None:
        if not 0 <= max_share <= 1:
            raise ValueError(f"max_share must be in [0, 1] (0 = off), got {max_share}")
        if min_surprisal < 0:
            raise ValueError(f"min_surprisal must be >= 0 (0 = off), got {min_surprisal}")
        texts = [normalise(r) for r in replies]
        self.max_share = max_share
        self.min_surprisal = min_surprisal
        self.reply_counts = Counter(texts)
        self.total = max(1, len(texts))
        words = Counter(w for t in texts for w in t.split())
        n_words = sum(words.values())
        # Add-one smoothing, so an unseen word is rare (high surprisal), never undefined.
        self._surprisal = {w: -math.log((c + 1) / (n_words + len(words))) for w, c in words.items()}
        self._unseen = -math.log(1 / (n_words + len(words) + 1))

    def surprisal(self, text: str) -> float:
        """Mean unigram surprisal of the reply's words in nats; 0 for a reply with no words."""
        words = normalise(text).split()
        if not words:
            return 0.0
        return sum(self._surprisal.get(w, self._unseen) for w in words) / len(words)

    def reason(self, text: str) -> str | None:
        """``frequent``, ``low_information``, or None when the reply makes a good target."""
        norm = normalise(text)
        if not norm:
            return LOW_INFORMATION  # emoji or punctuation only: nothing to answer with
        if self.max_share and self.reply_counts[norm] > self.max_share * self.total:
            return FREQUENT
        if self.min_surprisal and self.surprisal(text) < self.min_surprisal:
            return LOW_INFORMATION
        return None
