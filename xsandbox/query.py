"""X's recent-search query language, as far as the sandbox speaks it.

Keywords and "quoted phrases" (tokenised, case-insensitive), terms ANDed by spaces, ``OR``
(AND binds first, as on X), parentheses, ``-`` negation, and the operators ``conversation_id:``,
``from:``, ``to:``, ``in_reply_to_tweet_id:``, ``is:retweet|reply|quote`` and ``lang:``.
Anything else is X's 400, so a client never relies on a query X would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from agent.channels.twitter.search_limits import MAX_QUERY_CHARS

Tweet = dict[str, Any]
Predicate = Callable[[Tweet], bool]
_LEX = re.compile(r'\s+|(\()|(\))|(-)(?=[^\s)])|"([^"]*)"|([^\s()"]+)')
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"[#@$]\w+")
_REFERENCE_KINDS = {"retweet": "retweeted", "reply": "replied_to", "quote": "quoted"}


class QueryError(ValueError):
    """The query is not one X would accept; the message is X's kind of detail."""


@lru_cache(maxsize=65536)  # a loaded sandbox searches the same texts thousands of times
def text_tokens(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The text's words (case-folded) and its hashtags, mentions and cashtags."""
    folded = text.casefold()
    return tuple(_WORD.findall(folded)), frozenset(_TAG.findall(folded))


def _contains(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    if not run:
        return False
    if len(run) == 1:
        return run[0] in words
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _text_match(term: str) -> Predicate:
    """A keyword or phrase: its words, in order, somewhere in the tweet; #tag/@name exactly."""
    folded = term.casefold()
    if _TAG.fullmatch(folded):
        return lambda t: folded in text_tokens(t["text"])[1]
    run = tuple(_WORD.findall(folded))
    return lambda t: _contains(text_tokens(t["text"])[0], run)


def _referenced(tweet: Tweet, kind: str, tweet_id: str | None = None) -> bool:
    return any(
        r["type"] == kind and (tweet_id is None or r["id"] == tweet_id)
        for r in tweet.get("referenced_tweets", [])
    )


def _operator(name: str, value: str, user_id: Callable[[str], str]) -> Predicate:
    if name == "conversation_id":
        return lambda t: t["conversation_id"] == value
    if name == "from":
        uid = user_id(value)
        return lambda t: t["author_id"] == uid
    if name == "to":
        uid = user_id(value)
        return lambda t: t.get("in_reply_to_user_id") == uid
    if name == "in_reply_to_tweet_id":
        return lambda t: _referenced(t, "replied_to", value)
    if name == "lang":
        return lambda t: t.get("lang") == value.lower()
    if name == "is" and value in _REFERENCE_KINDS:
        kind = _REFERENCE_KINDS[value]
        return lambda t: _referenced(t, kind)
    raise QueryError(f"There were errors processing your request: Unsupported operator {name}:")


class _Parser:
    """Recursive descent over the lexed query: expr = conj (OR conj)*; conj = unary+."""

    def __init__(self, query: str, user_id: Callable[[str], str]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(query):
            m = _LEX.match(query, pos)
            if m is None:
                raise QueryError(f"Unbalanced quotes at position {pos + 1} of the query.")
            pos = m.end()
            opening, closing, negation, phrase, word = m.groups()
            if opening:
                self.tokens.append(("(", opening))
            elif closing:
                self.tokens.append((")", closing))
            elif negation:
                self.tokens.append(("-", negation))
            elif phrase is not None:
                self.tokens.append(("phrase", phrase))
            elif word:
                self.tokens.append(("OR" if word == "OR" else "word", word))
        self.pos = 0
        self.user_id = user_id

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise QueryError("The query parameter can not be empty.")
        predicate = self.expr()
        if self.peek() is not None:
            raise QueryError(f"Unexpected '{self.tokens[self.pos][1]}' in the query.")
        return predicate

    def expr(self) -> Predicate:
        options = [self.conj()]
        while self.peek() == "OR":
            self.take()
            options.append(self.conj())
        return options[0] if len(options) == 1 else lambda t: any(p(t) for p in options)

    def conj(self) -> Predicate:
        parts = []
        while self.peek() not in (None, ")", "OR"):
            parts.append(self.unary())
        if not parts:
            raise QueryError("Ambiguous use of OR or an empty group in the query.")
        return parts[0] if len(parts) == 1 else lambda t: all(p(t) for p in parts)

    def unary(self) -> Predicate:
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            return lambda t: not inner(t)
        kind, value = self.take()
        if kind == "(":
            inner = self.expr()
            if self.peek() != ")":
                raise QueryError("Unbalanced parentheses in the query.")
            self.take()
            return inner
        if kind == "phrase":
            return _text_match(value)
        name, colon, arg = value.partition(":")
        if colon and re.fullmatch(r"[a-z_]+", name) and arg:
            return _operator(name, arg, self.user_id)
        return _text_match(value)


def compile_query(query: str, user_id: Callable[[str], str]) -> Predicate:
    """A predicate over sandbox tweets; ``user_id`` maps a ``from:``/``to:`` value to an id.

    :raise QueryError: a query X would refuse, or one the sandbox does not speak.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"There were errors processing your request: Query is {len(query)} characters long; "
            f"the limit is {MAX_QUERY_CHARS}."
        )
    return _Parser(query, user_id).parse()
