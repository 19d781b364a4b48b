"""Reply chains from posts: rebuild a conversation's tree from reply links, one chain per leaf.

Platform-neutral: a channel turns its posts into :class:`Post` and writes the chains with
:mod:`generator.collected`. A conversation that branches gives one chain per root-to-leaf path;
the chains share the conversation id, so the corpus split keeps them on one side.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Post:
    """One post, cleaned: ``author`` is already a pseudonym, ``parent_id`` the post it answers."""

    id: str
    conversation_id: str
    parent_id: str | None
    author: str
    text: str


def pseudonym(salt: bytes, author_id: str) -> str:
    """A stable stand-in for an author: HMAC-SHA256 with the corpus's secret salt, shortened.

    Without the salt nobody can test a guessed account id against it.
    """
    return "u" + hmac.new(salt, author_id.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def reply_chains(posts: Sequence[Post]) -> list[list[Post]]:
    """Every root-to-leaf path, oldest post first; siblings in id order (ids grow with time).

    A post whose parent is missing (older than the search window, deleted, or dropped) starts
    a chain of its own. Iterative, so a thread thousands of replies deep cannot overflow.
    """
    by_id = {p.id: p for p in posts}
    children: dict[str, list[Post]] = {}
    roots = []
    for post in sorted(by_id.values(), key=lambda p: (len(p.id), p.id)):
        if post.parent_id is not None and post.parent_id in by_id:
            children.setdefault(post.parent_id, []).append(post)
        else:
            roots.append(post)
    chains = []
    stack = [[root] for root in reversed(roots)]
    while stack:
        path = stack.pop()
        below = children.get(path[-1].id, [])
        if not below:
            chains.append(path)
        stack.extend([*path, child] for child in reversed(below))
    return chains


@dataclass(frozen=True)
class Chain:
    """A chain as turns: consecutive posts by one author are one turn (a self-thread)."""

    conversation_id: str
    turns: tuple[str, ...]
    authors: tuple[str, ...]
    post_ids: tuple[tuple[str, ...], ...]

    def record(self, number: int, topic: str, stance: str | None = None) -> dict[str, Any]:
        """The threaded-JSONL line ``generator prepare`` and ``generator train`` read; with
        ``stance``, the side the thread's root takes on the topic."""
        record: dict[str, Any] = {
            "id": f"{self.conversation_id}#{number}",
            "conversation_id": self.conversation_id,
            "topic": topic,
            "turns": list(self.turns),
            "authors": list(self.authors),
            "tweet_ids": [list(ids) for ids in self.post_ids],
        }
        if stance is not None:
            record["stance"] = stance
        return record

    def pairs(self) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
        """Its (message, reply) pairs by post ids, so pairs shared by branches count once."""
        return set(zip(self.post_ids, self.post_ids[1:], strict=False))


def as_turns(chain: Sequence[Post]) -> Chain:
    """Merge runs of one author into a turn, so speakers alternate as the corpus expects."""
    turns: list[str] = []
    authors: list[str] = []
    ids: list[tuple[str, ...]] = []
    for post in chain:
        if authors and authors[-1] == post.author:
            turns[-1] = f"{turns[-1]} {post.text}"
            ids[-1] = (*ids[-1], post.id)
        else:
            turns.append(post.text)
            authors.append(post.author)
            ids.append((post.id,))
    return Chain(chain[0].conversation_id, tuple(turns), tuple(authors), tuple(ids))
