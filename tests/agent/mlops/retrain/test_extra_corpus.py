"""`retrain generator --corpus FILE`: a collected topic corpus joins the retrain's data."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from generator.collected import CollectedCorpus
from generator.threads import Post, as_turns
from tests.agent.mlops.conftest import TOPIC
from tests.agent.mlops.retrain.test_cli import env  # noqa: F401  (the temporary bot's settings)
from tests.conftest import run_cli as run

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels


def collected_corpus(path: Path, threads: int = 20) -> Path:
    corpus = CollectedCorpus(path)
    for n in range(threads):
        texts = [f"do drones dream {n}?", f"drones dream of wind number {n}"]
        posts = [Post(f"{n}{i}", str(n), None, "ab"[i], t) for i, t in enumerate(texts)]
        corpus.add(str(n), [as_turns(posts)], "drones OR drone")
    return path


def test_retrain_takes_a_collected_corpus_as_an_extra_source(env: Path) -> None:  # noqa: F811
    assert run("db", "upgrade")[0] == 0
    extra = collected_corpus(env / "drones.jsonl")
    code, out = run(
        "retrain", "generator", "--from-scratch", "--dry-run", "--quiet", "--corpus", str(extra)
    )
    assert code == 0, out
    found = re.search(r"extra corpora \S+: (\d+) conversations to train on, (\d+) held out", out)
    assert found and int(found[1]) + int(found[2]) == 20 and int(found[1]) > int(found[2])
    snapshot = Path(re.search(r"snapshot (\S+) ", out)[1])  # type: ignore[index]
    with gzip.open(snapshot / "train.jsonl.gz", "rt", encoding="utf-8") as fh:
        drones = [r for r in map(json.loads, fh) if "drones dream" in r["turns"][0]]
    # Labelled with the bot's topic: the token the bot serves with learns from them.
    assert len(drones) == int(found[1]) and {r["topic"] for r in drones} == {TOPIC}
    code, out = run("retrain", "generator", "--corpus", str(env / "missing.jsonl"))
    assert code == 2 and "does not exist" in out
