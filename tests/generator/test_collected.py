"""Reply chains from posts, and the append-only collected corpus with its private sidecar."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from generator.clean import split_conversations
from generator.collected import CollectedCorpus, sidecar_path
from generator.data import load_corpus
from generator.errors import CorpusError
from generator.threads import Post, as_turns, pseudonym, reply_chains
from tests.hostile import NASTY


def post(pid: int, parent: int | None, author: str, text: str = "") -> Post:
    return Post(str(pid), "1", str(parent) if parent else None, author, text or f"t{pid}")


def test_a_branching_thread_gives_one_chain_per_leaf_in_reply_order() -> None:
    posts = [post(4, 2, "c"), post(1, None, "a"), post(2, 1, "b"), post(3, 1, "c"), post(5, 2, "a")]
    chains = [[p.id for p in c] for c in reply_chains(posts)]
    assert chains == [["1", "2", "4"], ["1", "2", "5"], ["1", "3"]]


def test_a_missing_parent_starts_its_own_chain_and_deep_threads_do_not_recurse() -> None:
    orphan = [post(10, 9, "a"), post(11, 10, "b")]
    assert [[p.id for p in c] for c in reply_chains(orphan)] == [["10", "11"]]
    deep = [post(i, i - 1 if i > 1 else None, "ab"[i % 2]) for i in range(1, 5001)]
    (chain,) = reply_chains(deep)
    assert len(chain) == 5000 and chain[-1].id == "5000"


def test_a_self_thread_is_one_turn_so_speakers_alternate() -> None:
    chain = as_turns([post(1, None, "a", "first"), post(2, 1, "a", "second"), post(3, 2, "b")])
    assert chain.turns == ("first second", "t3") and chain.authors == ("a", "b")
    assert chain.post_ids == (("1", "2"), ("3",)) and chain.pairs() == {(("1", "2"), ("3",))}


def test_pseudonyms_are_stable_per_salt_and_reveal_nothing() -> None:
    assert pseudonym(b"s1", "12345") == pseudonym(b"s1", "12345")
    assert pseudonym(b"s1", "12345") != pseudonym(b"s2", "12345")
    assert "12345" not in pseudonym(b"s1", "12345")


def chains(conversation: str, *turn_lists: tuple[str, ...]) -> list:
    out = []
    for n, turns in enumerate(turn_lists):
        posts = [
            Post(f"{conversation}{n}{i}", conversation, None, "ab"[i % 2], t)
            for i, t in enumerate(turns)
        ]
        out.append(as_turns(posts))
    return out


def test_corpus_appends_resumes_and_skips_chains_it_already_has(tmp_path: Path) -> None:
    path = tmp_path / "topic.jsonl"
    corpus = CollectedCorpus(path)
    written = corpus.add("100", chains("100", ("hi there", "hello"), ("hi there", "yo")), "q")
    assert len(written) == 2
    corpus.add("200", [], "q")  # looked at, nothing kept: still never fetched again
    again = CollectedCorpus(path)
    assert again.seen == {"100", "200"} and again.salt == corpus.salt and again.lines == 2
    assert again.add("300", chains("300", ("HI  there", "hello")), "q") == []  # same turns
    assert stat.S_IMODE(sidecar_path(path).stat().st_mode) == 0o600
    # What prepare and train read: both branches of conversation 100 on one side of the split.
    convs = load_corpus(path)
    assert [c.id for c in convs] == ["100#0", "100#1"] and {c.topic for c in convs} == {"q"}
    train, val = split_conversations(convs, 0.5, seed=3)
    assert len(train) in (0, 2) and len(val) in (0, 2)


def test_a_line_torn_by_a_crash_is_cut_and_its_conversation_collected_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "topic.jsonl"
    CollectedCorpus(path).add("100", chains("100", ("a b", "c d")), "q")
    record = {"conversation_id": "200", "turns": ["x", "y"]}
    with path.open("a") as fh:
        fh.write(json.dumps(record)[:20])  # the process died mid-write
    corpus = CollectedCorpus(path)
    assert corpus.lines == 1 and "200" not in corpus.seen
    assert path.read_text().endswith("\n")


def test_hostile_text_round_trips_and_bad_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "topic.jsonl"
    text = "".join(ch for ch in NASTY if not 0xD800 <= ord(ch[0]) <= 0xDFFF)
    CollectedCorpus(path).add("7", chains("7", (text, "fine")), "q")
    assert load_corpus(path)[0].turns == (text, "fine")
    other = tmp_path / "other.jsonl"
    other.write_text('{"turns": ["a", "b"]}\n')
    with pytest.raises(CorpusError, match="not a collected corpus line"):
        CollectedCorpus(other)
    sidecar_path(path).write_text("{broken")
    with pytest.raises(CorpusError, match="pseudonym salt"):
        CollectedCorpus(path)
    with pytest.raises(CorpusError, match="appended"):
        CollectedCorpus(tmp_path / "x.jsonl.gz")
