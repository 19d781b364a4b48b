"""The click commands, run in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import generator

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, corpus: Path, extra: str = "", kind: str = "lstm") -> Path:
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        f'out_dir = "{tmp_path / "run"}"\nepochs = 1\nbatch_size = 16\nwarmup_steps = 2\n{extra}\n'
        "[model]\nvocab_size = 300\nembed_dim = 32\nhidden_dim = 32\nnum_layers = 1\n"
        f'dropout = 0.0\nkind = "{kind}"\nff_dim = 64\n'
        f'[data]\ncorpus = "{corpus}"\nval_fraction = 0.2\n'
    )
    return cfg


def test_prepare_prints_stats_and_writes_splits(corpus_file: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        generator,
        ["prepare", "--corpus", str(corpus_file), "--out", str(tmp_path / "p"), "--topic", "ai"],
    )
    assert res.exit_code == 0, res.output
    assert "kept 30 after cleaning" in res.output and "topics: ai=30" in res.output
    assert (tmp_path / "p" / "train.jsonl.gz").exists()
    assert (tmp_path / "p" / "validation.jsonl.gz").exists()


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_train_dry_run_then_eval_export_and_chat(
    corpus_file: Path, tmp_path: Path, kind: str
) -> None:
    runner = CliRunner()
    cfg = _config(tmp_path, corpus_file, kind=kind)
    res = runner.invoke(
        generator, ["train", "--config", str(cfg), "--dry-run", "--quiet", "--name", "tiny"]
    )
    assert res.exit_code == 0, res.output
    assert "best validation" in res.output and (tmp_path / "run" / "loss.png").exists()
    res = runner.invoke(
        generator, ["export", "--from", str(tmp_path / "run"), "--out", str(tmp_path / "m")]
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "metrics.json"
    res = runner.invoke(
        generator,
        [
            "eval",
            "--model",
            str(tmp_path / "m"),
            "--data",
            str(corpus_file),
            "--split",
            "all",
            "--max-replies",
            "8",
            "--on-topic",
            "ai",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads(out.read_text())
    assert metrics["replies"] == 8 and metrics["words"] > 0
    assert "per-word perplexity" in res.output and "nats /" in res.output
    for key in ("distinct_2", "generic_rate_top10", "salience_tfidf", "on_topic_rate"):
        assert 0.0 <= metrics[key] <= 1.0
    res = runner.invoke(
        generator,
        ["chat", "--model", str(tmp_path / "m"), "--show-candidates", "2"],
        input="hello robot\n\n",
    )
    assert res.exit_code == 0, res.output
    assert "bot:" in res.output


def test_bad_input_gets_one_line_errors(corpus_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = _config(tmp_path, corpus_file, extra="colour = 3")
    res = runner.invoke(generator, ["train", "--config", str(bad)])
    assert res.exit_code == 2 and "unknown [train] keys ['colour']" in res.output
    res = runner.invoke(generator, ["prepare", "--corpus", "nope.jsonl", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "no such corpus file" in res.output
    res = runner.invoke(generator, ["eval", "--model", str(tmp_path / "none"), "--data", "x"])
    assert res.exit_code == 2 and "no generator model at" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(generator, ["chat", "--model", str(tmp_path), "--temperature", "0"])
    assert res.exit_code == 2 and "--temperature" in res.output


def test_every_option_has_help() -> None:
    for name, cmd in generator.commands.items():
        for param in cmd.params:
            assert getattr(param, "help", None), f"{name} {param.name}"


def test_presets_parse() -> None:
    from generator.config import TrainConfig

    for preset in sorted((ROOT / "configs" / "generator").glob("*.toml")):
        cfg = TrainConfig.from_file(preset)
        assert cfg.model.hidden_dim % 2 == 0, preset
