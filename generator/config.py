"""Typed model and training settings, loaded from a small TOML preset plus CLI overrides."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

MODEL_KINDS = ("lstm", "transformer")
POSITIONS = ("learned", "sinusoidal")


@dataclass
class ModelConfig:
    """Shape of the seq2seq network; stored in every checkpoint so decoding rebuilds it alone.

    A checkpoint written before ``kind`` existed reads as the LSTM it is.
    """

    vocab_size: int = 8000  # BPE merges stop here; 8k covers chit-chat with short subwords
    # Tied input/output embedding, so it also sets the output projection; the Transformer's
    # width (d_model) too.
    embed_dim: int = 256
    hidden_dim: int = 384  # decoder LSTM width; encoder is bidirectional with hidden_dim/2 a side
    num_layers: int = 2  # two layers beat one on perplexity and still decode under 40 ms
    dropout: float = 0.2  # light: chit-chat corpora are small enough to overfit in a few epochs
    pad_id: int = 0  # the tokenizer puts <pad> first, so the id is stable across corpora
    kind: str = "lstm"  # or "transformer" (docs/generator.md says when to choose which)
    # Transformer only (each stack has num_layers layers):
    heads: int = 4  # attention heads; embed_dim must divide by it
    ff_dim: int = 1024  # feed-forward width, 4x d_model as in the original
    positions: str = "learned"  # or "sinusoidal" (no weights; extends past max_positions)
    max_positions: int = 128  # longest source or reply in tokens (sources are cut at 96)

    def __post_init__(self) -> None:
        if self.hidden_dim % 2:
            raise ValueError(
                f"hidden_dim must be even (bidirectional encoder), got {self.hidden_dim}"
            )
        for name in (
            "vocab_size",
            "embed_dim",
            "hidden_dim",
            "num_layers",
            "heads",
            "ff_dim",
            "max_positions",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MODEL_KINDS)}, got {self.kind!r}")
        if self.positions not in POSITIONS:
            raise ValueError(
                f"positions must be one of {', '.join(POSITIONS)}, got {self.positions!r}"
            )
        if self.kind == "transformer" and self.embed_dim % self.heads:
            raise ValueError(f"embed_dim ({self.embed_dim}) must divide by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass
class DataConfig:
    """Which corpus to read and how to turn conversations into (context, reply) pairs."""

    corpus: str = "chitchat"  # a loader name or a file path; see generator.data.load_corpus
    topics: list[str] = field(default_factory=list)  # keep only these topic labels; empty = all
    keywords: list[str] = field(default_factory=list)  # or conversations mentioning any of these
    context_turns: int = 3  # the last three turns carry the thread without drowning the message
    max_turn_words: int = 40  # longer turns are cut: tweets rarely exceed 40 words
    max_source_tokens: int = 96  # BPE tokens of context fed to the encoder (newest kept)
    max_target_tokens: int = 40  # replies longer than this are truncated for training
    val_fraction: float = 0.05  # by conversation; 5% of chitchat is still ~350 conversations
    split_seed: int = 13  # the hash salt of the conversation split; change it to resample
    # Generic-target filter (generator/targets.py), training replies only; 0 turns a test off.
    drop_share: float = 0.0  # drop a reply text that is more than this share of all replies
    drop_least_informative: float = 0.0  # and this share with the lowest mean word surprisal
    # Share of training replies also taught with the topic token as their only input, so the
    # same network learns p(reply | no context), the language model MMI re-ranking subtracts.
    lm_share: float = 0.0


@dataclass
class TrainConfig:
    """Optimisation settings; every value can be overridden from ``generator train`` options."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    out_dir: str = "runs/generator"  # scratch space, ignored by git; ship with `export` instead
    seed: int = 1234  # one seed for Python, torch and the batch shuffler
    batch_size: int = 64  # pairs per step; same as the tutorial baseline for a fair speed figure
    max_batch_tokens: int = 0  # if >0, batches are sized by tokens instead (GPU runs use this)
    epochs: int = 12  # early stopping usually ends sooner
    lr: float = 2e-3  # Adam on a small LSTM tolerates a high rate with warmup and clipping
    min_lr: float = 1e-4  # cosine decays to this, not to zero, so late epochs still move
    warmup_steps: int = 200  # avoids the first noisy steps blowing up the fresh LSTM
    weight_decay: float = 0.01  # mild AdamW decay; embeddings are tied so they share it
    grad_clip: float = 1.0  # LSTMs explode on long targets without clipping
    label_smoothing: float = 0.1  # smooths the generic-reply peak; perplexity is on raw NLL
    patience: int = 2  # epochs without validation gain before stopping
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU where it is slower
    num_threads: int = 0  # torch CPU threads; 0 leaves torch's default
    max_steps: int = 0  # if >0, stop (and end the LR schedule) after this many steps in all
    # If >0, stop once training steps have used this many CPU-seconds (all threads, summed
    # over resumes): the budget that compares kinds fairly on a shared machine, where wall
    # time depends on the load. The LR schedule still follows epochs / max_steps.
    max_cpu_seconds: float = 0.0
    checkpoint_every: int = 0  # if >0, also write last.pt every this many steps (resumable)
    dry_run: bool = False  # one batch of training and one of validation: a smoke test

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        """Build from a nested dict (TOML), refusing unknown keys with the allowed ones."""
        raw = dict(raw)
        model = _build(ModelConfig, raw.pop("model", {}), "model")
        data = _build(DataConfig, raw.pop("data", {}), "data")
        cfg = _build(cls, raw, "train")
        cfg.model, cfg.data = model, data
        return cfg

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a TOML preset such as ``configs/generator/default.toml``."""
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict, for checkpoints and metrics."""
        return asdict(self)


def _build(kind: type, raw: dict[str, Any], section: str) -> Any:
    allowed = {f.name for f in fields(kind)} - {"model", "data"}
    unknown = set(raw) - allowed
    if unknown:
        raise ValueError(
            f"unknown [{section}] keys {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return kind(**raw)
