"""The reply index: human (message, reply) pairs the fallback may retrieve, in SQLite FTS5.

Why FTS5 rather than an in-memory scorer (bm25s was measured beside it, docs/benchmarks.md):
the index is one read-only file beside the model, opened by every process that serves (each
gunicorn worker and the Twitter loop) and shared through the page cache instead of copied into
each process; it ships with the model as one unit (export, registry, promote, rollback and hot
swap copy the folder); and BM25 ranking with column weights is built into SQLite, so nothing
hand-written scores documents.

A query matches the user's message against the indexed messages (and the thread's previous
turn against the turn before them) and returns those messages' replies. Each row keeps its
corpus and conversation, so a turn can say where its reply came from and a query can leave out
its own conversation (the ranker is trained that way). The index holds corpus text only, never
the bot's users' turns.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from generator.checkpoint import INDEX_FILE
from generator.errors import GeneratorError
from generator.persona import Persona
from generator.reuse import DROP_REASONS, ReplySource, drop_reason
from generator.words import content_words, words
from nlu.chars import SURROGATE

FORMAT = "threadbot-reply-index/2"  # 2: the stored anti-LM table
MESSAGE_TERMS, PREVIOUS_TERMS = 8, 4  # the rarest words of each that a query matches on
# A word in more than this many indexed replies ("good", "here", "tell") is left out of a query
# that has rarer ones: its posting list is most of the query's time (chitchat's index: 10 -> 6
# ms a query) and BM25 gives it little weight; 96 % of the top 12 stay the same
# (docs/benchmarks.md). A count, not a share: the cost is the list's length.
COMMON_DF = 1000
MESSAGE_WEIGHT, PREVIOUS_WEIGHT = 1.0, 0.3  # bm25 column weights: the message itself counts most


class ReplyIndexError(GeneratorError):
    """The reply index file is missing, foreign or damaged; the message says how to rebuild."""

    def __init__(self, path: str | Path, why: str) -> None:
        super().__init__(
            f"reply index {path}: {why}. Rebuild it with `threadbot generator index --model "
            f"DIR` (docs/generator.md, 'Reply index'), or remove {INDEX_FILE} from the model "
            f"folder to serve without retrieval."
        )


@dataclass(frozen=True)
class IndexPair:
    """One human exchange offered to the index: the reply and what it answered."""

    corpus: str
    conversation: str
    message: str
    reply: str
    previous: str = ""  # the turn before the message, "" when the message opened the thread


@dataclass(frozen=True)
class Retrieved:
    """A reply found for a query, with its row id, source and BM25 score (higher is better)."""

    pair_id: int
    corpus: str
    conversation: str
    message: str
    reply: str
    score: float
    anti_lm: float | None = None  # log p(reply | topic token alone), stored at build


@dataclass
class BuildReport:
    """What a build kept and dropped, by reason, per corpus."""

    kept: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0

    def lines(self) -> list[str]:
        """The report as a person reads it."""
        total = sum(self.kept.values()) + sum(self.dropped.values()) + self.duplicates
        out = [f"kept {sum(self.kept.values()):,} of {total:,} pairs"]
        out += [f"  {corpus}: {n:,} kept" for corpus, n in sorted(self.kept.items())]
        out += [f"  dropped {n:,}: {r}" for r in DROP_REASONS if (n := self.dropped[r])]
        if self.duplicates:
            out.append(f"  dropped {self.duplicates:,}: duplicate reply text")
        return out


def _match_query(
    message: str, previous: str, rarity: Callable[[str], float], common: Callable[[str], bool]
) -> str | None:
    """An FTS5 query: any of the message's rarest content words, in either column, or of the
    previous turn's, in the previous column. Words are quoted, so no user text is read as
    syntax. Only the rarest few: BM25's score comes from them anyway, and every common word
    of a long message adds a long posting list to scan (15 ms a query at 40 words, ~3 ms so).
    """

    def rarest(words: Iterable[str], n: int, at_least: int = 0) -> list[str]:
        ranked = sorted(dict.fromkeys(words), key=lambda w: (-rarity(w), w))
        rare = [w for w in ranked if not common(w)]
        return (rare if len(rare) >= at_least else ranked[:at_least])[:n]

    said = rarest(content_words(message), MESSAGE_TERMS, at_least=1)
    before = rarest((w for w in content_words(previous) if w not in said), PREVIOUS_TERMS)
    if not said:
        return None

    def any_of(ws: Iterable[str]) -> str:
        return " OR ".join('"' + w.replace('"', "") + '"' for w in ws)

    query = f"{{message previous}} : ({any_of(said)})"
    return f"{query} OR previous : ({any_of(before)})" if before else query


def build(
    path: Path,
    pairs: Iterable[IndexPair],
    sources: Iterable[ReplySource],
    progress: Any = None,
    vocabulary: Container[str] | None = None,
) -> BuildReport:
    """Write the index of ``pairs`` to ``path`` atomically and return what was kept and why not.

    Every corpus named by a pair must be among ``sources`` with reuse allowed
    (:class:`generator.reuse.ReuseNotAllowedError` otherwise, before anything is written).
    ``progress`` is called with each pair offered (a tqdm ``update``, say); ``vocabulary``
    (known words) drops replies with misspelt or made-up words.
    """
    allowed = {s.name: s for s in sources}
    for source in allowed.values():
        source.check()
    report = BuildReport()
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        _write(tmp, pairs, allowed, report, progress, vocabulary)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return report


def _storable(pair: IndexPair) -> IndexPair:
    """``pair`` without lone surrogates (a JSONL corpus can hold them escaped), which SQLite
    cannot store as UTF-8."""
    return replace(
        pair,
        message=SURROGATE.sub("", pair.message),
        previous=SURROGATE.sub("", pair.previous),
        reply=SURROGATE.sub("", pair.reply),
    )


def _write(
    tmp: Path,
    pairs: Iterable[IndexPair],
    allowed: dict[str, ReplySource],
    report: BuildReport,
    progress: Any,
    vocabulary: Container[str] | None,
) -> None:
    db = sqlite3.connect(tmp)
    try:
        _create(db)
        seen: set[str] = set()
        df: Counter[str] = Counter()
        bot = Persona("bot")
        rows = 0
        for offered in pairs:
            if progress is not None:
                progress(1)
            pair = _storable(offered)
            if pair.corpus not in allowed:
                where = tmp.with_suffix("")  # the index being built, not its temporary file
                raise ReplyIndexError(where, f"pair from corpus {pair.corpus!r} has no source")
            reason = drop_reason(pair.message, pair.reply, vocabulary)
            if reason is not None:
                report.dropped[reason] += 1
                continue
            key = " ".join(words(pair.reply))
            if key in seen:
                report.duplicates += 1
                continue
            seen.add(key)
            report.kept[pair.corpus] += 1
            rows += 1
            df.update(set(words(pair.reply)))
            db.execute(
                "INSERT INTO pairs (id, corpus, conversation, message, previous, reply, "
                "human_life) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    rows,
                    pair.corpus,
                    pair.conversation,
                    pair.message,
                    pair.previous,
                    pair.reply,
                    bot.breaks(pair.reply),
                ),
            )
        db.execute("INSERT INTO pairs_fts(pairs_fts) VALUES ('rebuild')")
        db.executemany("INSERT INTO words (word, df) VALUES (?, ?)", df.items())
        meta = {
            "format": FORMAT,
            "replies": str(rows),
            "sources": json.dumps({s.name: s.licence for s in allowed.values()}),
        }
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        db.commit()
        db.execute("VACUUM")
    finally:
        db.close()


def _create(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE pairs (
            id INTEGER PRIMARY KEY,
            corpus TEXT NOT NULL,
            conversation TEXT NOT NULL,
            message TEXT NOT NULL,
            previous TEXT NOT NULL,
            reply TEXT NOT NULL,
            human_life INTEGER NOT NULL  -- the reply claims a human life (generator/persona.py)
        );
        CREATE INDEX pairs_conversation ON pairs (conversation);
        CREATE VIRTUAL TABLE pairs_fts USING fts5(
            message, previous, content='pairs', content_rowid='id', tokenize='porter unicode61'
        );
        CREATE TABLE words (word TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
        -- The model's log p(reply | topic token alone), per topic token: context-free, so
        -- computed once at build instead of on every turn (the anti-LM feature).
        CREATE TABLE lm (
            topic INTEGER NOT NULL, pair INTEGER NOT NULL, logp REAL NOT NULL,
            PRIMARY KEY (topic, pair)
        ) WITHOUT ROWID;
        """
    )


def store_anti_lm(path: Path, topic: int, values: Iterable[tuple[int, float]]) -> None:
    """Store each reply's log p(reply | ``topic`` token alone) in the index at ``path``."""
    db = sqlite3.connect(path)
    try:
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO lm (topic, pair, logp) VALUES (?, ?, ?)",
                ((topic, pair, logp) for pair, logp in values),
            )
    finally:
        db.close()


class ReplyIndex:
    """A built index, opened read-only; ``search`` is safe to call from several threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ReplyIndexError(self.path, "no such file")
        try:
            # As a URI, so "#", "?" and "%" in a folder name are escaped, not read as URI parts.
            self._db = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False
            )
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
            if meta.get("format") != FORMAT:
                raise ReplyIndexError(self.path, f"format {meta.get('format')!r}, not {FORMAT!r}")
            self.replies = int(meta["replies"])
            self.sources: dict[str, str] = json.loads(meta["sources"])
            self._df = dict(self._db.execute("SELECT word, df FROM words"))
            self._db.execute("SELECT rowid FROM pairs_fts LIMIT 1").fetchall()
            self._db.execute("SELECT 1 FROM lm LIMIT 1").fetchall()
        except (sqlite3.Error, KeyError, ValueError) as exc:
            self._db.close()
            raise ReplyIndexError(self.path, f"not a readable reply index ({exc})") from exc
        self._lock = threading.Lock()

    def idf(self, word: str) -> float:
        """Smoothed inverse document frequency of ``word`` over the indexed replies."""
        return math.log((1 + self.replies) / (1 + self._df.get(word, 0))) + 1

    def common(self, word: str) -> bool:
        """Whether ``word`` is in so many rows that a query does better without it."""
        return self._df.get(word, 0) > COMMON_DF

    def specificity(self, text: str) -> float:
        """Mean IDF of the words of ``text``: rare words say something, "that's nice" does not."""
        ws = words(text)
        return sum(map(self.idf, ws)) / len(ws) if ws else 0.0

    def search(
        self,
        message: str,
        previous: str = "",
        k: int = 20,
        *,
        exclude_conversation: str | None = None,
        allow_human_life: bool = True,
        topic: int | None = None,
    ) -> list[Retrieved]:
        """The ``k`` best replies for ``message`` (after ``previous`` in its thread), best first.

        ``exclude_conversation`` leaves out one conversation's rows (a query never retrieves
        its own reply when the ranker is trained); ``allow_human_life=False`` leaves out
        replies that claim a human life, which a bot persona would refuse anyway; ``topic``
        (a topic token id) fills each reply's stored anti-LM score where the build stored one.
        """
        query = _match_query(message, previous, self.idf, self.common)
        if query is None or k <= 0:
            return []
        sql = (
            "SELECT p.id, p.corpus, p.conversation, p.message, p.reply, "
            "-pairs_fts.rank AS score, lm.logp FROM pairs_fts "
            "JOIN pairs p ON p.id = pairs_fts.rowid "
            "LEFT JOIN lm ON lm.topic = ? AND lm.pair = p.id "
            f"WHERE pairs_fts MATCH ? AND rank MATCH 'bm25({MESSAGE_WEIGHT}, {PREVIOUS_WEIGHT})' "
            "AND p.conversation IS NOT ? "
        )
        if not allow_human_life:
            sql += "AND p.human_life = 0 "
        sql += "ORDER BY pairs_fts.rank LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (topic, query, exclude_conversation, k)).fetchall()
        return [Retrieved(*row) for row in rows]

    def all_replies(self) -> list[tuple[int, str]]:
        """Every (id, reply), for computing per-reply scores at build."""
        with self._lock:
            return self._db.execute("SELECT id, reply FROM pairs ORDER BY id").fetchall()

    def close(self) -> None:
        self._db.close()
