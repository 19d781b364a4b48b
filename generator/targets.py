"""Which training replies are too generic to learn from: a frequency and an information filter.

A seq2seq trained by maximum likelihood learns the replies that fit every message ("lol",
"that's true", "i don't know") because they are the most frequent targets. Dropping them from
the training targets (never from the contexts, never from validation) moves probability mass to
replies that answer the message. Two measurable reasons, reported with examples:

- ``frequent``: the normalised reply text is more than ``max_share`` of all training replies;
- ``low_information``: the reply is among the ``low_share`` of (not frequent) replies with the
  lowest mean word surprisal under a unigram model of the training replies, i.e. it is made
  only of very common words ("i think so too"); emoji- or punctuation-only replies, which have
  no words at all, always are. A share, not a fixed number of nats, so the filter means the
  same on a corpus of 100 replies and of 100,000.

A reply seen fewer than ``MIN_REPEATS`` times is never ``frequent``, however small the corpus.
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
MIN_REPEATS = 3


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

    def __init__(self, replies: Iterable[str], max_share: float, low_share: float) -> None:
        for name, value in (("max_share", max_share), ("low_share", low_share)):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1) (0 = off), got {value}")
        texts = [normalise(r) for r in replies]
        self.reply_counts = Counter(texts)
        self.max_count = max(MIN_REPEATS - 1, max_share * len(texts)) if max_share else None
        words = Counter(w for t in texts for w in t.split())
        n_words = sum(words.values())
        # Add-one smoothing, so an unseen word is rare (high surprisal), never undefined.
        self._surprisal = {w: -math.log((c + 1) / (n_words + len(words))) for w, c in words.items()}
        self._unseen = -math.log(1 / (n_words + len(words) + 1))
        scores = sorted(self.surprisal(t) for t in texts if t and not self._frequent(t))
        # Replies strictly below the low_share quantile are dropped: at most that share.
        self.min_surprisal = scores[int(low_share * len(scores))] if low_share and scores else 0.0

    def _frequent(self, norm: str) -> bool:
        return self.max_count is not None and self.reply_counts[norm] > self.max_count

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
        if self._frequent(norm):
            return FREQUENT
        if self.min_surprisal and self.surprisal(text) < self.min_surprisal:
            return LOW_INFORMATION
        return None
