"""Fill a sandbox with realistic threads from a corpus file, so search has something to find."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.data import load_corpus
from generator.tweetlen import TWEET_LIMIT
from xsandbox.state import SandboxState

# Each thread is a dialogue between two people, who get user names of their own per thread.
SPEAKERS = ("a", "b")


@dataclass(frozen=True)
class Loaded:
    """What a load added."""

    threads: int
    tweets: int
    cut: int  # turns longer than a tweet, cut to TWEET_LIMIT characters


def load_threads(state: SandboxState, path: Path, prefix: str = "t") -> Loaded:
    """Post every thread in ``path`` (threaded JSONL, TSV pairs, the Twitter corpus .txt, IBM
    customer-care .json) as a reply chain between users ``<prefix><n>a`` and ``<prefix><n>b``,
    oldest turn first. Tweets are in English as far as ``lang:`` is concerned, and new: the
    sandbox's recent search finds them for seven days.

    :raise generator.errors.CorpusError: the file is missing or not in a known format.
    """
    conversations = load_corpus(path)
    tweets = cut = 0
    for n, conv in enumerate(conversations):
        parent: int | None = None
        for i, turn in enumerate(conv.turns):
            text = turn.strip()
            if not text:
                continue
            cut += len(text) > TWEET_LIMIT
            author = f"{prefix}{n}{SPEAKERS[i % 2]}"
            parent = int(state.tweet(author, text[:TWEET_LIMIT], parent)["id"])
            tweets += 1
    return Loaded(threads=len(conversations), tweets=tweets, cut=cut)
