"""The reply index (generator/index.py): build report, search, filters, hostile queries, and the
clear error a damaged or foreign index file gives when it is opened."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.index import (
    FORMAT,
    BuildReport,
    IndexPair,
    ReplyIndex,
    ReplyIndexError,
    _match_query,
    build,
    store_anti_lm,
)
from generator.reuse import DROP_REASONS, ReplySource, ReuseNotAllowedError
from generator.words import words
from tests.hostile import NASTY

HAND = ReplySource("hand", "written for these tests", reuse_allowed=True)
OTHER = ReplySource("other", "also written for these tests", reuse_allowed=True)

MUSIC = "mostly jazz and some old rock records"
PASTA = "pasta with fresh basil makes the best meal"
ROBOTS = "robots write code but people still decide"
LOVE = "a computer only follows the code it was given"
DOG = "my dog loves long walks on the beach"  # kept, but claims a human life
SMILE = "jazz music always makes me smile"

KEPT = [
    IndexPair("hand", "k1", "what kind of music do you enjoy", MUSIC),
    IndexPair("hand", "k2", "do you like cooking pasta at night", PASTA),
    IndexPair(
        "hand", "k3", "are robots going to replace programmers", ROBOTS, "reading automation news"
    ),
    IndexPair("hand", "k4", "can computers fall in love", LOVE),
    IndexPair("hand", "k5", "do you enjoy walks on the beach", DOG),
    IndexPair("other", "o1", "which music makes you happy", SMILE),
]
# One pair for each reason a reply stays out, in DROP_REASONS order, then a duplicate.
DROPPED = [
    IndexPair("hand", "d1", "what kind of music do you enjoy", "yes"),
    IndexPair("hand", "d2", "what kind of music do you enjoy", " ".join(["la"] * 31)),
    IndexPair("hand", "d3", "ok", "that sounds like a wonderful plan"),
    IndexPair("hand", "d4", "where should we travel next", "we could visit Paris in spring"),
    IndexPair("hand", "d5", "when does the concert start", "the concert starts at eight tonight"),
    IndexPair("hand", "d5b", "do you like cooking pasta", "pasta is realy tasty with cheese"),
    IndexPair("hand", "d6", "what did your friend say of movies", "he said the movie was boring"),
    IndexPair("hand", "d6b", "what should we talk about", "how about a new prompt for us"),
    IndexPair("hand", "d7", "what about rush hour traffic", "traffic is a damn nightmare"),
    IndexPair("hand", "d8", "how can i reach you later", "write to me at bob@example.com please"),
    IndexPair("other", "d9", "favourite music genre?", "Mostly jazz, and some old rock records!"),
]


# The words a reply must keep to: every word of these pairs but the typo "realy".
VOCABULARY = {w for p in KEPT + DROPPED for w in words(p.reply)} - {"realy"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    path = tmp_path_factory.mktemp("index") / "index.sqlite"
    offered: list[int] = []
    pairs = [*KEPT, *DROPPED]
    report = build(path, pairs, [HAND, OTHER], progress=offered.append, vocabulary=VOCABULARY)
    assert offered == [1] * (len(KEPT) + len(DROPPED))  # progress hears of every pair offered
    return path, report


@pytest.fixture(scope="module")
def index(built: tuple[Path, BuildReport]) -> Iterator[ReplyIndex]:
    opened = ReplyIndex(built[0])
    yield opened
    opened.close()


def test_build_report_counts_kept_and_dropped_by_reason(built: tuple[Path, BuildReport]) -> None:
    path, report = built
    assert report.kept == {"hand": 5, "other": 1}
    assert report.dropped == dict.fromkeys(DROP_REASONS, 1)
    assert report.duplicates == 1  # same words as MUSIC, other case and punctuation
    # Without a vocabulary nothing is dropped as misspelt.
    plain = build(path.with_name("plain.sqlite"), DROPPED, [HAND, OTHER])
    assert plain.dropped["misspelt"] == 0 and plain.kept == {"hand": 1, "other": 1}
    lines = report.lines()
    assert lines[0] == f"kept 6 of {len(KEPT) + len(DROPPED)} pairs"
    assert lines[1:3] == ["  hand: 5 kept", "  other: 1 kept"]
    # Reasons are listed in the order they are checked, then the duplicates.
    assert lines[3:] == [f"  dropped 1: {r}" for r in DROP_REASONS] + [
        "  dropped 1: duplicate reply text"
    ]
    assert not path.with_name(path.name + ".tmp").exists()  # written atomically


def test_an_empty_report_reads_as_nothing_kept() -> None:
    assert BuildReport().lines() == ["kept 0 of 0 pairs"]


def test_the_opened_index_knows_its_size_sources_and_rows(index: ReplyIndex) -> None:
    assert index.replies == 6
    assert index.sources == {"hand": HAND.licence, "other": OTHER.licence}
    rows = index.all_replies()
    assert [pair for pair, _ in rows] == [1, 2, 3, 4, 5, 6]
    assert {reply for _, reply in rows} == {p.reply for p in KEPT}
    # Each row keeps its corpus and conversation: a turn can say where its reply came from.
    found = {(r.corpus, r.conversation, r.reply) for p in KEPT for r in index.search(p.message)}
    assert found == {(p.corpus, p.conversation, p.reply) for p in KEPT}


def test_search_returns_the_reply_of_the_most_similar_message(index: ReplyIndex) -> None:
    found = index.search("I really enjoy listening to music")
    assert found[0].reply == MUSIC  # its message shares both "enjoy" and "music"
    assert found[0].corpus == "hand" and found[0].conversation == "k1"
    assert found[0].message == "what kind of music do you enjoy"
    assert {r.reply for r in found} == {MUSIC, SMILE, DOG}  # each shares a word
    scores = [r.score for r in found]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert len({r.pair_id for r in found}) == len(found)
    assert index.search("I really enjoy listening to music", k=1) == found[:1]
    assert index.search("pasta for dinner?")[0].reply == PASTA
    assert index.search("music", k=0) == []


def test_search_matches_the_previous_turn_more_weakly(index: ReplyIndex) -> None:
    # "scare" is in no message: only the previous turn's "automation" finds k3.
    found = index.search("they scare me", previous="I saw automation in the news")
    assert [r.reply for r in found] == [ROBOTS]
    assert index.search("they scare me") == []
    # A match on the message outranks one on the previous turn alone.
    both = index.search("tell me about robots", previous="automation")
    assert both[0].reply == ROBOTS
    weak = index.search("they scare me", previous="automation")[0].score
    assert both[0].score > weak


def test_queries_leave_out_common_words_while_rarer_ones_remain() -> None:
    rarity = {"good": 1.0, "weather": 5.0, "today": 2.0, "hiking": 6.0}.__getitem__
    common = {"good", "today"}.__contains__
    query = _match_query("good weather today", "hiking today", rarity, common)
    assert query == '{message previous} : ("weather") OR previous : ("hiking")'
    # A message of common words alone still asks for its rarest one.
    assert _match_query("good today", "", rarity, common) == '{message previous} : ("today")'


def test_exclude_conversation_leaves_out_its_own_rows(index: ReplyIndex) -> None:
    found = index.search("I really enjoy music", exclude_conversation="k1")
    assert found and MUSIC not in {r.reply for r in found}
    assert all(r.conversation != "k1" for r in found)
    assert index.search("pasta at night", exclude_conversation="k2") == []
    assert index.search("pasta at night", exclude_conversation="nope")[0].reply == PASTA


def test_replies_claiming_a_human_life_can_be_left_out(index: ReplyIndex) -> None:
    assert [r.reply for r in index.search("walks on the beach")] == [DOG]
    assert index.search("walks on the beach", allow_human_life=False) == []
    kept = index.search("enjoy music", allow_human_life=False)
    assert MUSIC in {r.reply for r in kept} and DOG not in {r.reply for r in kept}


def test_idf_and_specificity_reward_rare_words(index: ReplyIndex) -> None:
    # "jazz" is in two replies, "pasta" in one, "zebra" in none.
    assert index.idf("zebra") > index.idf("pasta") > index.idf("jazz") > 1.0
    assert index.specificity("pasta basil") > index.specificity("jazz music")
    assert index.specificity("") == 0.0
    assert index.specificity("\u200b\u202e") == 0.0  # no words, no division by zero


def test_stored_anti_lm_scores_come_back_for_their_topic_only(
    tmp_path: Path, built: tuple[Path, BuildReport]
) -> None:
    path = tmp_path / "index.sqlite"
    path.write_bytes(built[0].read_bytes())
    reading = ReplyIndex(path)
    pasta = next(pair for pair, reply in reading.all_replies() if reply == PASTA)
    reading.close()
    store_anti_lm(path, 7, [(pasta, -3.5)])
    store_anti_lm(path, 7, [(pasta, -4.25)])  # stored again: replaced, not added
    store_anti_lm(path, 8, [(pasta, -9.0)])
    opened = ReplyIndex(path)
    try:
        assert [r.anti_lm for r in opened.search("pasta at night", topic=7)] == [-4.25]
        assert [r.anti_lm for r in opened.search("pasta at night", topic=8)] == [-9.0]
        assert [r.anti_lm for r in opened.search("pasta at night", topic=9)] == [None]
        assert [r.anti_lm for r in opened.search("pasta at night")] == [None]
        assert all(r.anti_lm is None for r in opened.search("enjoy music", topic=7))
    finally:
        opened.close()


QUERY_SYNTAX = [
    "",
    '"',
    '""',
    "*",
    "NEAR(",
    "NEAR(music pets, 2)",
    "OR",
    "AND NOT",
    "the and of is",
    "''",
    "'''",
    "a'b c'd",
    '"music" OR *',
    "music -pets",
    "{message previous}: music",
    "previous : music",
    "^music",
    "(music",
    "music:",
    "\x00",
    "\ud800\udfff",
    "\u202e\u2066\u2069",
    "\u200b\u200d\ufeff",
    "music " * 400,
    *NASTY,
]


@pytest.mark.parametrize("query", QUERY_SYNTAX)
def test_hostile_queries_never_raise(index: ReplyIndex, query: str) -> None:
    for message, previous in ((query, ""), ("", query), (query, query)):
        found = index.search(message, previous)
        assert all(r.reply in {p.reply for p in KEPT} for r in found)
    # Syntax and invisible characters around a real word do not stop it matching.
    assert index.search(f'\u200b{query}"music*\u202e')[0].reply in {MUSIC, SMILE}


def test_queries_without_content_words_find_nothing(index: ReplyIndex) -> None:
    for query in ("", "OR", "the and of is", "\ud800\u202e\u200b", '" * NEAR( OR', "12 34"):
        assert index.search(query) == []


def test_a_corpus_without_reuse_consent_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    collected = ReplySource("tweets", "collected from X", reuse_allowed=False)
    with pytest.raises(ReuseNotAllowedError, match=r"'tweets'.*--allow-reuse"):
        build(path, [IndexPair("tweets", "t1", "do you like robots now", ROBOTS)], [collected])
    assert list(tmp_path.iterdir()) == []
    # Nor does it touch an index already there; a consented build still works.
    build(path, KEPT, [HAND, OTHER])
    before = path.read_bytes()
    with pytest.raises(ReuseNotAllowedError):
        build(path, KEPT, [HAND, OTHER, collected])  # refused even if no pair comes from it
    assert path.read_bytes() == before
    with pytest.raises(ReuseNotAllowedError):
        collected.check()
    HAND.check()


def test_a_pair_from_an_undeclared_corpus_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    build(path, KEPT, [HAND, OTHER])
    before = path.read_bytes()
    stray = IndexPair("stray", "s1", "do you like robots now", ROBOTS)
    with pytest.raises(ReplyIndexError, match="'stray' has no source"):
        build(path, [KEPT[0], stray], [HAND])
    assert path.read_bytes() == before  # the index being served is left whole


def _assert_names_file_and_rebuild(err: pytest.ExceptionInfo[ReplyIndexError], path: Path) -> None:
    text = str(err.value)
    assert str(path) in text
    assert "threadbot generator index --model DIR" in text


def test_opening_a_missing_or_foreign_file_says_how_to_rebuild(
    tmp_path: Path, built: tuple[Path, BuildReport]
) -> None:
    missing = tmp_path / "absent.sqlite"
    with pytest.raises(ReplyIndexError, match="no such file") as err:
        ReplyIndex(missing)
    _assert_names_file_and_rebuild(err, missing)

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00\xffnot a database at all\n" * 64)
    with pytest.raises(ReplyIndexError, match="not a readable reply index") as err:
        ReplyIndex(garbage)
    _assert_names_file_and_rebuild(err, garbage)

    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(ReplyIndexError, match="meta") as err:
        ReplyIndex(empty)
    _assert_names_file_and_rebuild(err, empty)

    no_meta = tmp_path / "no_meta.sqlite"
    with sqlite3.connect(no_meta) as db:
        db.execute("CREATE TABLE pairs (id INTEGER PRIMARY KEY, reply TEXT)")
    db.close()
    with pytest.raises(ReplyIndexError, match="no such table: meta") as err:
        ReplyIndex(no_meta)
    _assert_names_file_and_rebuild(err, no_meta)

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('format', 'someone-else/2')")
    db.close()
    with pytest.raises(ReplyIndexError, match=f"'someone-else/2', not '{FORMAT}'") as err:
        ReplyIndex(foreign)
    _assert_names_file_and_rebuild(err, foreign)


def test_opening_an_index_with_damaged_tables_fails_at_open(
    tmp_path: Path, built: tuple[Path, BuildReport]
) -> None:
    for name, damage in (
        ("no_fts.sqlite", "DROP TABLE pairs_fts"),
        ("no_words.sqlite", "DROP TABLE words"),
        ("bad_count.sqlite", "UPDATE meta SET value = 'many' WHERE key = 'replies'"),
        ("bad_sources.sqlite", "UPDATE meta SET value = '{oops' WHERE key = 'sources'"),
        ("no_sources.sqlite", "DELETE FROM meta WHERE key = 'sources'"),
    ):
        path = tmp_path / name
        path.write_bytes(built[0].read_bytes())
        with sqlite3.connect(path) as db:
            db.execute(damage)
        db.close()
        with pytest.raises(ReplyIndexError, match="not a readable reply index") as err:
            ReplyIndex(path)
        _assert_names_file_and_rebuild(err, path)


def test_an_index_without_its_anti_lm_table_is_refused_at_open(
    tmp_path: Path, built: tuple[Path, BuildReport]
) -> None:
    path = tmp_path / "before_anti_lm.sqlite"
    path.write_bytes(built[0].read_bytes())
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE lm")
    db.close()
    with pytest.raises(ReplyIndexError) as err:
        opened = ReplyIndex(path)
        try:
            opened.search("music")  # what a turn would do with it
        finally:
            opened.close()
    _assert_names_file_and_rebuild(err, path)


def test_a_lone_surrogate_in_a_corpus_does_not_stop_the_build(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    broken = IndexPair("hand", "s1", "what kind of music \ud800 do you enjoy", "\udfff" + PASTA)
    report = build(path, [broken, *KEPT], [HAND, OTHER])
    assert sum(report.kept.values()) + sum(report.dropped.values()) + report.duplicates == 7
    opened = ReplyIndex(path)
    opened.close()


@pytest.mark.parametrize("folder", ["run#2", "what?", "pct%41"])
def test_an_index_in_a_folder_with_uri_characters_opens(tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder / "index.sqlite"
    path.parent.mkdir()
    build(path, KEPT, [HAND, OTHER])
    opened = ReplyIndex(path)
    try:
        assert opened.replies == 6 and opened.search("pasta at night")[0].reply == PASTA
    finally:
        opened.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]
