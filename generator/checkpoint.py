"""Self-describing checkpoints: weights, model args, tokenizer and training state in one dict."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from generator.config import DataConfig, ModelConfig
from generator.errors import ModelNotFoundError
from generator.model import Seq2Seq
from generator.networks import build_model
from generator.tokenizer import BPETokenizer

FORMAT = "threadbot-generator/1"
# A model dir holds these; the first present is the one decoding loads.
MODEL_FILES = ("model.pt", "best.pt", "last.pt")


def save(
    path: Path,
    model: Seq2Seq,
    tok: BPETokenizer,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    config: dict[str, Any] | None = None,
    step: int = 0,
    epoch: int = 0,
    epoch_step: int = 0,
    best_val_loss: float = float("inf"),
    history: list[dict[str, Any]] | None = None,
    cpu_seconds: float = 0.0,
    name: str = "threadbot-generator",
    half: bool = False,
) -> None:
    """Write ``path`` atomically; ``half`` stores fp16 weights (shipping), else fp32."""
    # out.weight is the tied embedding: store it once (build() ties it again).
    state = {
        k: (v.half() if half and v.is_floating_point() else v).cpu()
        for k, v in model.state_dict().items()
        if k != "out.weight"
    }
    ckpt = {
        "format": FORMAT,
        "name": name,
        "model": state,
        "model_args": asdict(model.cfg),
        "tokenizer": tok.to_str(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "config": config or {},
        "step": step,
        "epoch": epoch,  # epochs completed
        "epoch_step": epoch_step,  # batches of the next epoch already trained (mid-epoch save)
        "best_val_loss": best_val_loss,
        "history": history or [],
        "cpu_seconds": cpu_seconds,  # spent on training steps so far (a CPU budget's count)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)


def resolve(path: str | Path) -> Path:
    """The checkpoint file for a model dir or file, or ``ModelNotFoundError``."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise ModelNotFoundError(p, "the path does not exist")
    for name in MODEL_FILES:
        if (p / name).is_file():
            return p / name
    raise ModelNotFoundError(p, f"the directory has none of {', '.join(MODEL_FILES)}")


def read(path: str | Path) -> dict[str, Any]:
    """Load the raw checkpoint dict (tensors on CPU), checking its format."""
    file = resolve(path)
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise ModelNotFoundError(file, f"the file is not a readable checkpoint ({exc})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ModelNotFoundError(file, f"the file is not a {FORMAT} checkpoint")
    return ckpt


def data_config(ckpt: dict[str, Any]) -> DataConfig:
    """How the checkpoint's model was fed (context turns, lengths, split), as a typed config.

    The one place that knows those defaults: a file written before a setting existed reads as
    that setting's default, which is what its training used.
    """
    stored = ckpt.get("config", {}).get("data", {})
    known = {f.name for f in fields(DataConfig)}
    return DataConfig(**{k: v for k, v in stored.items() if k in known})


def build(ckpt: dict[str, Any]) -> tuple[Seq2Seq, BPETokenizer]:
    """Rebuild model (fp32, eval mode) and tokenizer from a checkpoint dict alone."""
    model = build_model(ModelConfig(**ckpt["model_args"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    if "out_bias" in state:  # checkpoints written before the output layer became a module
        state["out.bias"] = state.pop("out_bias")
    state["out.weight"] = state["embed.weight"]
    model.load_state_dict(state)
    model.eval()
    return model, BPETokenizer.from_str(ckpt["tokenizer"])


# The hybrid fallback's files beside the checkpoint in a model folder (generator/index.py,
# generator/ranker.py): they belong to the model's version.
INDEX_FILE = "index.sqlite"
RANKER_FILE = "ranker.json"


def fingerprint(path: str | Path) -> str:
    """Short content hash of the checkpoint and, in a model folder, of its reply index and
    ranker: the version suffix every turn and the registry record covers all three."""
    digest = hashlib.sha256(resolve(path).read_bytes())
    folder = Path(path)
    for name in (INDEX_FILE, RANKER_FILE):
        if folder.is_dir() and (folder / name).exists():
            with open(folder / name, "rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()[:10]
