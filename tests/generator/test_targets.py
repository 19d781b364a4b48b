"""The generic-target filter drops what it says it drops, and reports it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.batches import make_pairs
from generator.data import Conversation
from generator.targets import FREQUENT, LOW_INFORMATION, FilterReport, TargetFilter, normalise
from generator.tokenizer import BPETokenizer
from generator.train import target_filter, train

from .conftest import tiny_config

_WORDS = [
    "parrot",
    "sofa",
    "radiator",
    "hamster",
    "balcony",
    "violin",
    "tuesday",
    "glacier",
    "pancakes",
    "museum",
    "lantern",
    "tractor",
    "orchid",
    "harbour",
    "marathon",
    "compass",
    "pottery",
    "tundra",
    "cello",
    "lagoon",
    "walrus",
    "fjord",
    "quilt",
    "meteor",
    "saffron",
    "canyon",
    "ferret",
    "goblet",
    "harpoon",
    "zeppelin",
]
SPECIFIC = [" ".join(_WORDS[i : i + 3]) for i in range(0, 30, 3)]
# 10 specific replies of words seen once; "yeah" is 9 of 26 replies; "i think so (too)" is
# made of the corpus's most common words only.
COMMON = " ".join(["i think so too"] * 8)
REPLIES = [
    *SPECIFIC,
    *["Yeah!"] * 8,
    "yeah",
    "i think so",
    "so i think",
    COMMON,
    "😂😂",
    "\u200b?!",
]


def test_normalise_ignores_case_and_punctuation_and_survives_hostile_text() -> None:
    assert normalise("That's TRUE!!") == normalise("that's true") == "that's true"
    assert normalise("\ud800\u202e\u200b") == ""  # lone surrogate, bidi control, zero width


def test_filter_drops_frequent_and_low_information_replies_with_reasons() -> None:
    filt = TargetFilter(REPLIES, max_share=0.1, low_share=0.25)
    assert filt.reason("yeah") == FREQUENT == filt.reason("YEAH.")  # 9 of 26 replies
    assert filt.reason("i think so") == LOW_INFORMATION  # common words only
    assert filt.reason("😂😂") == LOW_INFORMATION == filt.reason("\u200b?!")  # nothing to answer
    assert all(filt.reason(r) is None for r in SPECIFIC)
    assert filt.surprisal("parrot sofa radiator") > filt.surprisal("i think so")
    off = TargetFilter(REPLIES, max_share=0.0, low_share=0.0)
    assert off.reason("yeah") is None and off.reason("i think so") is None
    with pytest.raises(ValueError, match="max_share"):
        TargetFilter(REPLIES, max_share=2.0, low_share=0.0)
    # Seen once or twice is never frequent, however small the corpus.
    assert TargetFilter(["a b", "c d"], max_share=0.01, low_share=0.0).reason("a b") is None


def test_report_counts_reasons_and_examples(tmp_path: Path) -> None:
    filt = TargetFilter(REPLIES, max_share=0.1, low_share=0.25)
    report = FilterReport()
    for r in REPLIES:
        report.add(r, filt.reason(r))
    assert report.total == len(REPLIES) and report.kept == len(SPECIFIC)
    assert report.dropped[FREQUENT] == 9
    assert report.examples[FREQUENT].most_common(1) == [("yeah", 9)]
    assert "dropped 9 (" in report.summary() and "'yeah' x9" in report.summary()
    report.write(tmp_path / "r.json")
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["kept"] == len(SPECIFIC) and saved["dropped"]["frequent"] == 9


def test_make_pairs_drops_targets_but_keeps_them_as_context() -> None:
    conv = Conversation("c", ("do you have pets?", "yeah", "what kind?", "a parrot"), "general")
    tok = BPETokenizer.train([*conv.turns, *SPECIFIC], 300)
    all_pairs = make_pairs([conv], tok, 3, 48, 24)
    kept = make_pairs([conv], tok, 3, 48, 24, keep=lambda text: text != "yeah")
    assert len(all_pairs) == 3 and len(kept) == 2
    assert tok.decode(kept[0].tgt) == "what kind?"
    assert tok.encode("yeah")[0] in kept[0].src  # the dropped reply is still context


def test_training_writes_the_filter_report(corpus_file: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_file, tmp_path / "run", epochs=1, dry_run=True)
    cfg.data.drop_share = 0.05
    keep, report = target_filter([], cfg.data)
    assert keep is not None and report is not None
    train(cfg, progress=False, log=lambda _: None)
    saved = json.loads((tmp_path / "run" / "filter_report.json").read_text())
    # The tiny corpus repeats "that is interesting, tell me more (r)" after every reply.
    assert saved["dropped"].get("frequent", 0) > 0 and saved["kept"] < saved["total"]
