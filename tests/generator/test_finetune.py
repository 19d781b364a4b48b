"""`generator finetune`: topic data plus mixed general data, early stopping, and the gate."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from generator.cli import generator
from generator.data import Conversation
from generator.finetune import mix_general, topic_conversations


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
