"""Training loop: seeded, validated each epoch, early-stopped, checkpointed, resumable."""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from generator import checkpoint
from generator.batches import (
    Batch,
    Pair,
    batches,
    count_batches,
    make_pairs,
    prefetch,
    with_reply_lm,
)
from generator.clean import prepare, split_conversations
from generator.config import DataConfig, ModelConfig, TrainConfig
from generator.data import Conversation, load_corpus
from generator.evaluate import NLL, corpus_nll, scored_pairs
from generator.model import Seq2Seq
from generator.networks import build_model
from generator.targets import FilterReport, TargetFilter
from generator.tokenizer import BPETokenizer


@dataclass
class TrainResult:
    """What a run produced; also written to ``metrics.json``."""

    out_dir: str
    best_val_loss: float
    best_word_perplexity: float
    epochs: int
    steps: int
    train_seconds: float
    train_tokens_per_second: float
    cpu_seconds: float  # CPU time of the training steps, all threads, over every resume
    interrupted: bool
    device: str
    parameters: int


def get_lr(step: int, total_steps: int, cfg: TrainConfig, cpu_seconds: float = 0.0) -> float:
    """Linear warmup for ``warmup_steps``, then cosine decay from ``lr`` to ``min_lr``.

    With a CPU budget the decay follows whichever runs out first, steps or CPU time, so a
    run cut by its budget still ends at ``min_lr`` rather than mid-schedule.
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    if cfg.max_cpu_seconds:
        progress = max(progress, min(1.0, cpu_seconds / cfg.max_cpu_seconds))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def load_splits(data: DataConfig) -> tuple[list[Conversation], list[Conversation]]:
    """Load, clean, filter, dedup and split the configured corpus by conversation."""
    convs = prepare(
        load_corpus(data.corpus),
        max_turn_words=data.max_turn_words,
        topics=data.topics,
        keywords=data.keywords,
    )
    return split_conversations(convs, data.val_fraction, data.split_seed)


def target_filter(
    convs: list[Conversation], data: DataConfig
) -> tuple[Callable[[str], bool] | None, FilterReport | None]:
    """The generic-target filter ``make_pairs`` applies, and the report it fills; None if off."""
    if not (data.drop_share or data.drop_least_informative):
        return None, None
    replies = (t for c in convs for t in c.turns[1:])
    filt = TargetFilter(replies, data.drop_share, data.drop_least_informative)
    report = FilterReport()

    def keep(text: str) -> bool:
        reason = filt.reason(text)
        report.add(text, reason)
        return reason is None

    return keep, report


def seed_everything(seed: int) -> None:
    """Seed Python and torch (CPU and CUDA) so runs repeat."""
    random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str | None = None) -> torch.device:
    """``name`` if given, else CUDA when present, else CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Session:
    """What one run trains with: built by :func:`setup`, advanced epoch by epoch."""

    cfg: TrainConfig
    model: Seq2Seq
    tok: BPETokenizer
    optimizer: torch.optim.Optimizer
    train_pairs: list[Pair]
    val_pairs: list[Pair]
    out: Path
    device: torch.device
    name: str
    per_epoch: int  # batches in one full epoch
    total_steps: int  # the LR schedule's length: all epochs, or max_steps if sooner
    step: int = 0
    start_epoch: int = 0
    skip: int = 0  # batches of ``start_epoch`` trained before a mid-epoch checkpoint
    best: float = float("inf")
    best_nll: NLL | None = None  # the best epoch's validation, when this process measured it
    cpu_seconds: float = 0.0  # spent on training steps, this run and the ones it resumed
    history: list[dict[str, Any]] = field(default_factory=list)

    def save(self, path: Path, epoch: int, *, epoch_step: int = 0, optimizer: bool = True) -> None:
        """Checkpoint the model (and the optimizer unless told not to) at ``epoch``."""
        checkpoint.save(
            path,
            self.model,
            self.tok,
            optimizer=self.optimizer if optimizer else None,
            step=self.step,
            epoch=epoch,
            epoch_step=epoch_step,
            best_val_loss=self.best,
            history=self.history,
            cpu_seconds=self.cpu_seconds,
            config=self.cfg.to_dict(),
            name=self.name,
        )


@dataclass
class EpochStats:
    """One (possibly partial) pass over the training batches."""

    losses: list[float]
    tokens: int
    seconds: float
    interrupted: bool


def train(
    cfg: TrainConfig,
    *,
    init_from: str | Path | None = None,
    resume: bool = False,
    device: str | None = None,
    name: str = "threadbot-generator",
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> TrainResult:
    """Train per ``cfg``; ``init_from`` fine-tunes a checkpoint (its tokenizer and shape)."""
    s = setup(cfg, init_from=init_from, resume=resume, device=device, name=name, log=log)
    stale = sum(1 for _ in _since_best(s.history))
    train_time, train_tokens, interrupted = 0.0, 0, False
    for epoch in range(s.start_epoch, s.cfg.epochs):
        if stale >= s.cfg.patience or interrupted or _done(s):
            break
        stats = train_epoch(s, epoch, progress=progress, log=log)
        if not stats.losses:
            break
        interrupted = stats.interrupted
        train_time += stats.seconds
        train_tokens += stats.tokens
        stale = 0 if evaluate_and_checkpoint(s, epoch, stats, log=log) else stale + 1

    # A validation pass costs a fair share of a CPU epoch: reuse the best one if measured here.
    final = s.best_nll
    if final is None and (s.out / "best.pt").exists():
        final = _evaluate_best(s.out, s.val_pairs, s.device)
    result = TrainResult(
        out_dir=str(s.out),
        best_val_loss=final.token_loss if final else float("nan"),
        best_word_perplexity=final.word_perplexity if final else float("nan"),
        epochs=len(s.history),
        steps=s.step,
        train_seconds=train_time,
        train_tokens_per_second=train_tokens / max(train_time, 1e-9),
        cpu_seconds=s.cpu_seconds,
        interrupted=interrupted,
        device=str(s.device),
        parameters=s.model.num_parameters(),
    )
    write_report(s.out, result, s.history, final)
    return result


def setup(
    cfg: TrainConfig,
    *,
    init_from: str | Path | None,
    resume: bool,
    device: str | None,
    name: str,
    log: Callable[[str], None],
) -> Session:
    """Seed, load the data, build (or restore) model, tokenizer and optimizer."""
    seed_everything(cfg.seed)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    dev = pick_device(device)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    prior: dict[str, Any] | None = None
    if resume:
        prior = checkpoint.read(out / "last.pt")
    elif init_from is not None:
        prior = checkpoint.read(init_from)

    train_convs, val_convs = load_splits(cfg.data)
    if not train_convs or not val_convs:
        raise ValueError(
            f"corpus {cfg.data.corpus!r} gave {len(train_convs)} train and {len(val_convs)} "
            "validation conversations after cleaning and topic filtering; need both non-empty"
        )
    cfg, model, tok = _build_model(cfg, prior, train_convs)
    model.to(dev).train()
    train_pairs, val_pairs = _build_pairs(cfg, tok, train_convs, val_convs, out, log)
    log(
        f"data: {len(train_convs)} train / {len(val_convs)} validation conversations, "
        f"{len(train_pairs)} / {len(val_pairs)} pairs; vocab {tok.vocab_size}; "
        f"{model.num_parameters():,} parameters; device {dev}"
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=dev.type == "cuda"
    )
    per_epoch = count_batches(train_pairs, cfg.batch_size, cfg.max_batch_tokens)
    total_steps = (1 if cfg.dry_run else per_epoch) * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    s = Session(
        cfg, model, tok, optimizer, train_pairs, val_pairs, out, dev, name, per_epoch, total_steps
    )
    if resume and prior is not None:
        optimizer.load_state_dict(prior["optimizer"])
        s.step, s.start_epoch = prior["step"], prior["epoch"]
        s.skip = prior.get("epoch_step", 0)
        s.best, s.history = prior["best_val_loss"], list(prior["history"])
        s.cpu_seconds = prior.get("cpu_seconds", 0.0)
        within = f" (batch {s.skip} of {per_epoch})" if s.skip else ""
        log(f"resuming {out / 'last.pt'} at epoch {s.start_epoch}{within}, step {s.step}")
    return s


def _build_model(
    cfg: TrainConfig, prior: dict[str, Any] | None, train_convs: list[Conversation]
) -> tuple[TrainConfig, Seq2Seq, BPETokenizer]:
    """The prior checkpoint's model and tokenizer (its shape wins), else fresh ones."""
    if prior is not None:
        model, tok = checkpoint.build(prior)
        return replace(cfg, model=ModelConfig(**prior["model_args"])), model, tok
    tok = BPETokenizer.train(
        (t for c in train_convs for t in c.turns),
        cfg.model.vocab_size,
        topics=[c.topic for c in train_convs],
    )
    cfg = replace(cfg, model=replace(cfg.model, vocab_size=tok.vocab_size, pad_id=tok.pad_id))
    return cfg, build_model(cfg.model), tok


def _build_pairs(
    cfg: TrainConfig,
    tok: BPETokenizer,
    train_convs: list[Conversation],
    val_convs: list[Conversation],
    out: Path,
    log: Callable[[str], None],
) -> tuple[list[Pair], list[Pair]]:
    """Filtered training pairs plus reply-LM copies, and unfiltered validation pairs."""
    d = cfg.data
    keep, report = target_filter(train_convs, d)
    train_pairs = make_pairs(
        train_convs, tok, d.context_turns, d.max_source_tokens, d.max_target_tokens, keep
    )
    if report is not None:
        report.write(out / "filter_report.json")
        log(report.summary())
    if not train_pairs:
        raise ValueError(
            "no training pairs left after the target filter; lower data.drop_share or "
            "data.drop_least_informative"
        )
    train_pairs = with_reply_lm(train_pairs, tok, d.lm_share, cfg.seed)
    val_pairs = scored_pairs(val_convs, tok, d.context_turns, d.max_source_tokens)
    return train_pairs, val_pairs


def _done(s: Session) -> bool:
    """The step limit or the CPU budget is reached."""
    if s.cfg.max_steps and s.step >= s.cfg.max_steps:
        return True
    return bool(s.cfg.max_cpu_seconds) and s.cpu_seconds >= s.cfg.max_cpu_seconds


def train_epoch(
    s: Session, epoch: int, *, progress: bool, log: Callable[[str], None]
) -> EpochStats:
    """One pass over the shuffled batches (the rest of it after a mid-epoch resume).

    Ends early at ``max_steps`` or the CPU budget, and on Ctrl-C, which marks the epoch
    interrupted so the caller validates and checkpoints what it learned, then stops.
    """
    cfg = s.cfg
    skip, s.skip = s.skip, 0  # set by a mid-epoch resume, for its first epoch only
    t0 = time.perf_counter()
    step_losses: list[torch.Tensor] = []
    tokens, interrupted = 0, False
    bar = tqdm(
        prefetch(
            batches(
                s.train_pairs,
                s.tok,
                cfg.batch_size,
                max_tokens=cfg.max_batch_tokens,
                shuffle_seed=cfg.seed + epoch,
                skip=skip,
            )
        ),
        total=1 if cfg.dry_run else min(s.per_epoch, skip + s.total_steps - s.step),
        initial=skip,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not progress,
        leave=False,
    )
    s.model.train()
    clock = time.process_time()  # the whole process: batch preparation counts too
    try:
        for done, batch in enumerate(bar, start=skip + 1):
            step_losses.append(train_step(s, batch.to(s.device)))
            now = time.process_time()
            s.cpu_seconds, clock = s.cpu_seconds + now - clock, now
            tokens += batch.tokens
            if s.step % 50 == 0:
                bar.set_postfix(loss=f"{torch.stack(step_losses[-50:]).mean().item():.3f}")
            if cfg.checkpoint_every and s.step % cfg.checkpoint_every == 0:
                s.save(s.out / "last.pt", epoch, epoch_step=done)
            if cfg.dry_run or _done(s):
                break
    except KeyboardInterrupt:
        interrupted = True
        log(f"interrupted in epoch {epoch + 1} after {len(step_losses)} steps; validating")
    finally:
        bar.close()
    if s.device.type == "cuda":
        torch.cuda.synchronize()
    losses: list[float] = torch.stack(step_losses).tolist() if step_losses else []
    return EpochStats(losses, tokens, time.perf_counter() - t0, interrupted)


def train_step(s: Session, batch: Batch) -> torch.Tensor:
    """One optimizer step on ``batch``; returns its loss, detached (no host sync)."""
    cfg = s.cfg
    for group in s.optimizer.param_groups:
        group["lr"] = get_lr(s.step, s.total_steps, cfg, s.cpu_seconds)
    keep = batch.tgt_out != s.tok.pad_id
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if cfg.amp and s.device.type == "cuda"
        else contextlib.nullcontext()
    )
    with autocast:
        logits = s.model(batch.src, batch.src_lens, batch.tgt_in, keep)  # (N, V)
    loss = F.cross_entropy(logits.float(), batch.tgt_out[keep], label_smoothing=cfg.label_smoothing)
    s.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # Clip: one long target can spike LSTM gradients and undo an epoch.
    torch.nn.utils.clip_grad_norm_(s.model.parameters(), cfg.grad_clip)
    s.optimizer.step()
    s.step += 1
    return loss.detach()  # no .item(): it would sync with the GPU


def evaluate_and_checkpoint(
    s: Session, epoch: int, stats: EpochStats, *, log: Callable[[str], None]
) -> bool:
    """Validate, record the epoch, write ``best.pt`` if it improved and ``last.pt``; True if so."""
    val = corpus_nll(
        s.model, s.val_pairs, s.tok, s.device, max_batches=1 if s.cfg.dry_run else None
    )
    losses = stats.losses
    row = {
        "epoch": epoch + 1,
        "step": s.step,
        "partial": stats.interrupted,
        "train_loss": sum(losses) / len(losses),
        "train_losses": losses[:: max(1, len(losses) // 200)],
        "val_loss": val.token_loss,
        "val_word_perplexity": val.word_perplexity,
        "val_nll": val.total,
        "val_words": val.words,
        "seconds": stats.seconds,
        "tokens_per_second": stats.tokens / max(stats.seconds, 1e-9),
    }
    s.history.append(row)
    log(
        f"epoch {epoch + 1}: train loss {row['train_loss']:.3f}, val loss "
        f"{val.token_loss:.3f}, val per-word ppl {val.word_perplexity:.2f} "
        f"({val.total:.0f} nats / {val.words} words), {row['tokens_per_second']:.0f} tok/s"
    )
    improved = val.token_loss < s.best
    if improved:
        s.best, s.best_nll = val.token_loss, val
        s.save(s.out / "best.pt", epoch + 1, optimizer=False)
    s.save(s.out / "last.pt", epoch + 1)
    return improved


def _since_best(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Epochs after the best one (so a resumed run keeps its early-stopping count)."""
    if not history:
        return []
    best_i = min(range(len(history)), key=lambda i: history[i]["val_loss"])
    return history[best_i + 1 :]


def _evaluate_best(out: Path, val_pairs: list[Pair], dev: torch.device) -> NLL:
    model, tok = checkpoint.build(checkpoint.read(out / "best.pt"))
    return corpus_nll(model.to(dev), val_pairs, tok, dev)


def write_report(
    out: Path, result: TrainResult, history: list[dict[str, Any]], final: NLL | None
) -> None:
    """``metrics.json`` and ``loss.png`` beside the checkpoints."""
    metrics = {
        **result.__dict__,
        "best_val_nll": final.total if final else None,
        "best_val_words": final.words if final else None,
        "best_val_tokens": final.tokens if final else None,
        "history": [{k: v for k, v in h.items() if k != "train_losses"} for h in history],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_losses(history, out / "loss.png")


def plot_losses(history: list[dict[str, Any]], path: Path) -> None:
    """Train loss (sampled within epochs) and validation loss per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    xs, ys = [], []
    prev = 0
    for h in history:
        pts = h.get("train_losses") or [h["train_loss"]]
        span = h["step"] - prev
        xs += [prev + span * (i + 1) / len(pts) for i in range(len(pts))]
        ys += pts
        prev = h["step"]
    ax.plot(xs, ys, label="train (label-smoothed)", alpha=0.6)
    ax.plot(
        [h["step"] for h in history], [h["val_loss"] for h in history], "o-", label="validation"
    )
    ax.set_xlabel("step")
    ax.set_ylabel("loss per token (nats)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
