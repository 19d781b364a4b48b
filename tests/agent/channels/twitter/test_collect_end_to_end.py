"""A user's whole path offline: load threads into the sandbox, collect a topic, prepare it,
fine-tune a tiny model on it, chat with the result; collecting again adds nothing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.agent.channels.twitter.test_collect import cli_env
from tests.conftest import ROOT, run_cli
from tests.generator.conftest import corpus_records
from xsandbox import SandboxServer
from xsandbox.load import load_threads

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

QUERY = "computer OR computers OR robot OR machines OR algorithms"


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_collect_prepare_finetune_and_chat(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
    tmp_path: Path,
) -> None:
    cli_env(monkeypatch, sandbox)
    records = corpus_records()
    general = write_jsonl(tmp_path / "general.jsonl", [r for r in records if r["topic"] != "ai"])
    # The topic's threads exist only on "X": the sandbox, loaded from a file, with chit-chat.
    load_threads(sandbox.state, write_jsonl(tmp_path / "x.jsonl", records))

    collected = tmp_path / "robots.jsonl"
    code, out = run_cli("generator", "collect", "--query", QUERY, "--out", str(collected))
    assert code == 0, out
    assert "kept 90 tweets in 30 threads: 30 chains, 60 reply pairs" in out
    before = collected.read_bytes()

    code, out = run_cli(
        "generator", "prepare", "--corpus", str(collected), "--out", str(tmp_path / "prep")
    )
    assert code == 0 and "kept 30 after cleaning" in out, out  # fmt: skip
    with gzip.open(tmp_path / "prep" / "train.jsonl.gz", "rt") as fh:
        assert all("computer" in line or "robot" in line or "machine" in line for line in fh)

    tiny = ROOT / "configs" / "generator" / "tiny.toml"
    base = tmp_path / "base"
    code, out = run_cli(
        "generator", "train", "--config", str(tiny), "--corpus", str(general),
        "--out", str(base), "--quiet",
    )  # fmt: skip
    assert code == 0, out
    ft = tmp_path / "ft.toml"
    ft.write_text("epochs = 3\nbatch_size = 16\nwarmup_steps = 2\nlr = 0.01\nnum_threads = 1\n")
    topic = tmp_path / "topic"
    code, out = run_cli(
        "generator", "finetune", "--config", str(ft), "--corpus", str(collected),
        "--topic", "ai", "--base", str(base / "best.pt"), "--out", str(topic),
        "--max-replies", "6", "--quiet",
    )  # fmt: skip
    gate = json.loads((topic / "gate.json").read_text())
    assert code == (0 if gate["passed"] else 1), out
    assert "topic gate 'ai'" in out
    # Trained on the collected threads, the model fits their held-out replies better.
    assert gate["tuned"]["word_perplexity"] < gate["general"]["word_perplexity"]

    code, out = run_cli(
        "generator", "chat", "--model", str(topic / "best.pt"), "--topic", "ai",
        input="can machines ever think like people?\n\n",
    )  # fmt: skip
    assert code == 0, out
    reply = next(line for line in out.splitlines() if "bot: " in line)
    assert len(reply.split("bot: ", 1)[1].strip()) > 0

    code, out = run_cli("generator", "collect", "--query", QUERY, "--out", str(collected))
    assert code == 0 and "kept 0 tweets in 0 threads" in out, out
    assert collected.read_bytes() == before
