"""Corpus loaders: every supported format, errors with file and line, real data when present."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from generator.data import (
    AI_TOPIC,
    Conversation,
    iter_pairs,
    load_chitchat,
    load_corpus,
    on_side,
    write_jsonl,
)
from generator.errors import CorpusError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_jsonl_reads_topic_turns_split_and_skips_unapproved(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    lines = [
        {"topic": "ai", "turns": ["hi", "hello"], "split": "valid"},
        {"topic": "ai", "turns": ["bad", "reply"], "approved": False},
        {"turns": ["a", "b", "c"], "approved": True, "id": "x1"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    convs = load_corpus(path)
    assert [c.turns for c in convs] == [("hi", "hello"), ("a", "b", "c")]
    assert convs[0].topic == "ai" and convs[0].split == "validation"
    assert convs[1].id == "x1" and convs[1].topic is None


def test_jsonl_gz_and_write_round_trip(tmp_path: Path) -> None:
    convs = [Conversation("a", ("x", "y"), "ai", "train"), Conversation("b", ("p", "q", "r"))]
    write_jsonl(convs, tmp_path / "c.jsonl.gz")
    assert load_corpus(tmp_path / "c.jsonl.gz") == convs


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json}\n", "c.jsonl:1"),
        ('{"topic": "ai"}\n', "c.jsonl:1"),
        ('{"turns": "hello"}\n', "list of strings"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "c.jsonl").write_text(content)
    with pytest.raises(CorpusError, match=message):
        load_corpus(tmp_path / "c.jsonl")


def test_tsv_pairs_with_optional_topic(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text("how are you?\tfine thanks\nlike robots?\tyes\tai\n\n")
    convs = load_corpus(path)
    assert [(c.turns, c.topic) for c in convs] == [
        (("how are you?", "fine thanks"), None),
        (("like robots?", "yes"), "ai"),
    ]
    path.write_text("only one column\n")
    with pytest.raises(CorpusError, match=r"pairs\.tsv:1"):
        load_corpus(path)


def test_twitter_threads_split_on_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "threads.txt"
    path.write_text("first tweet\nreply one\n\n\n\nsecond thread\nreply\nreply again\n")
    convs = load_corpus(path)
    assert [c.turns for c in convs] == [
        ("first tweet", "reply one"),
        ("second thread", "reply", "reply again"),
    ]


def test_customer_care_json(tmp_path: Path) -> None:
    item = {
        "dialogHeader": {"company": "AcmeSupport"},
        "dialogContent": [
            {"client": "u", "message": "@AcmeSupport my order is late"},
            {"agent": "a", "message": "Sorry! DM us your order number"},
        ],
    }
    path = tmp_path / "care.json"
    path.write_text(json.dumps([item]))
    (conv,) = load_corpus(path)
    assert conv.topic == "AcmeSupport" and len(conv.turns) == 2


def test_load_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such corpus"):
        load_corpus(tmp_path / "missing.jsonl")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(CorpusError, match="unknown corpus format"):
        load_corpus(tmp_path / "x.csv")
    with pytest.raises(CorpusError, match="prepared corpus dir"):
        load_corpus(tmp_path)


def test_iter_pairs_uses_last_turns_as_context() -> None:
    conv = Conversation("c", ("a", "b", "c", "d"), "ai")
    pairs = list(iter_pairs([conv], context_turns=2))
    assert pairs == [(("a",), "b", "ai"), (("a", "b"), "c", "ai"), (("b", "c"), "d", "ai")]


def test_chitchat_dataset_from_pypi() -> None:
    convs = load_chitchat()
    # Sizes as ranges: a new release of the dataset may add or fix conversations.
    assert len(convs) > 5000
    ai = [c for c in convs if c.topic == AI_TOPIC]
    # The nine prompts about computers, the internet and AI: a fifth or so, never most of it.
    assert 0.1 < len(ai) / len(convs) < 0.5
    # The export's stray line-continuation backslashes are gone: a reply never ends in one.
    assert not any("\\" in turn for c in convs for turn in c.turns)


@pytest.mark.skipif(not (SHARED / "dailydialog").exists(), reason="shared data absent")
def test_dailydialog_keeps_its_official_split() -> None:
    convs = load_corpus(SHARED / "dailydialog" / "dailydialog_trainval.jsonl.gz")
    splits = {c.split for c in convs}
    assert splits == {"train", "validation"}
    validation = sum(c.split == "validation" for c in convs)
    assert 0 < validation < len(convs) - validation  # the smaller part, as published


@pytest.mark.skipif(not (SHARED / "twitter").exists(), reason="shared data absent")
def test_real_twitter_files_load() -> None:
    threads = load_corpus(SHARED / "twitter" / "twitter_conv_corpus.txt")
    assert len(threads) > 1500
    care = load_corpus(SHARED / "twitter" / "ibm_customer_care_dev.json")
    assert len(care) > 100


def test_gzip_text_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"turns": ["café ☕", "oui"]}, ensure_ascii=False) + "\n")
    assert load_corpus(path)[0].turns[0] == "café ☕"


def test_collected_threads_keep_their_side_and_select_by_it(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    rows = [
        {"id": "1#0", "turns": ["ai is great", "sure"], "stance": "favor"},
        {"id": "2#0", "turns": ["ai is awful", "nah"], "stance": "against"},
        {"id": "3#0", "turns": ["what is ai", "code"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    convs = load_corpus(str(path))
    assert [c.stance for c in convs] == ["favor", "against", None]
    assert [c.id for c in on_side(convs, "against", str(path))] == ["2#0"]
    plain = [Conversation("a", ("hi", "yo"))]
    with pytest.raises(CorpusError, match="has no stance labels: collect it with"):
        on_side(plain, "favor", "chitchat")
    path.write_text(json.dumps({"turns": ["a", "b"], "stance": "pro"}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=":1: 'stance' must be one of favor, against, none"):
        load_corpus(str(path))
