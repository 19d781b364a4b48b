"""`generator finetune`: topic data plus mixed general data, early stopping, and the gate."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from generator.cli import generator
from generator.config import DataConfig
from generator.data import Conversation
from generator.fallback_build import Corpus
from generator.finetune import mix_general, topic_conversations, write_mixed_corpus
from generator.reuse import ReplySource


def test_topic_selection_and_general_mix() -> None:
    convs = [
        Conversation("a", ("x", "y"), "ai"),
        Conversation("b", ("x", "y", "z"), "general"),
        Conversation("c", ("x", "y", "z", "w"), "general"),
    ]
    assert [c.id for c in topic_conversations(convs, "AI")] == ["a"]
    relabelled = topic_conversations(convs[1:], "robots")  # nothing labelled: all, relabelled
    assert {c.topic for c in relabelled} == {"robots"} and len(relabelled) == 2
    mixed = mix_general(convs, {"a"}, pairs_wanted=2, seed=1)
    assert "a" not in {c.id for c in mixed} and sum(len(c.turns) - 1 for c in mixed) >= 2


def test_finetune_command_trains_and_gates(
    tiny_model_of_kind: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "topic"
    # The tiny corpus repeats every reply six times: the generic-target filter would drop all.
    cfg = tmp_path / "ft.toml"
    cfg.write_text("epochs = 2\nbatch_size = 16\nwarmup_steps = 2\nlr = 0.01\nnum_threads = 1\n")
    args = [
        "finetune",
        "--config",
        str(cfg),
        "--corpus",
        str(corpus_file),
        "--topic",
        "ai",
        "--base",
        str(tiny_model_of_kind / "best.pt"),
        "--out",
        str(out),
        "--max-replies",
        "6",
        "--quiet",
    ]
    res = CliRunner().invoke(generator, args)
    assert (out / "gate.json").exists(), res.output
    gate = json.loads((out / "gate.json").read_text())
    assert res.exit_code == (0 if gate["passed"] else 1), res.output
    assert "topic gate 'ai'" in res.output and "general" in res.output
    assert ("PASSED" in res.output) == gate["passed"]
    # Fine-tuned on the topic, the model fits the topic's validation replies better.
    assert gate["tuned"]["word_perplexity"] < gate["general"]["word_perplexity"]
    assert 0 <= gate["reference_on_topic_rate"] <= 1 and gate["replies"] == 6
    with gzip.open(out / "data" / "train.jsonl.gz", "rt") as fh:
        topics = {json.loads(line)["topic"] for line in fh}
    assert topics == {"ai", "general"}  # general data mixed in
    with gzip.open(out / "data" / "validation.jsonl.gz", "rt") as fh:
        assert {json.loads(line)["topic"] for line in fh} == {"ai"}  # stops on the topic


def test_finetune_refuses_unknown_topic_without_keywords(tiny_model: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        generator,
        [
            "finetune",
            "--corpus",
            "x.jsonl",
            "--topic",
            "knitting",
            "--out",
            str(tmp_path),
            "--base",
            str(tiny_model),
        ],
    )
    assert res.exit_code == 2 and "--keyword" in res.output


def test_a_sides_model_trains_on_that_sides_threads_only(tmp_path: Path) -> None:
    """SNAM's design: a side's model from that side's threads (`finetune --side`), and the
    index of one side's replies (`index --side`)."""
    rows = [
        {
            "id": f"{n}#0",
            "topic": "ai",
            "turns": [f"ai thread {n} opener", f"a reply {n}"],
            "stance": ("favor", "against")[n % 2],
        }
        for n in range(40)
    ]
    corpus = tmp_path / "x.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    train, validation, _ = write_mixed_corpus(
        tmp_path / "run", "ai", str(corpus), "chitchat", DataConfig(val_fraction=0.2), 0.0, "favor"
    )
    kept = {c.id.split("#")[0] for c in [*train, *validation]}
    assert kept == {str(n) for n in range(0, 40, 2)}
    indexed = Corpus(str(corpus), ReplySource("x", "collected", True), "against").load()
    assert {c.stance for c in indexed} == {"against"} and len(indexed) == 20
