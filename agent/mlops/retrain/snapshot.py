"""Dataset snapshots: the exact data a retrain used, written to disk and named by its hash."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.mlops.retrain.reviewed import ReviewedExample, held_out
from generator.data import Conversation

# The four files a generator snapshot holds; train() reads train + validation as a prepared dir.
GENERATOR_FILES = ("train", "validation", "heldout_base", "heldout_reviewed")


@dataclass
class Snapshot:
    """A written snapshot: its folder, content hash, sizes and the reviewed turns it used."""

    path: Path
    data_hash: str
    sizes: dict[str, int]
    reviewed_train: list[int] = field(default_factory=list)
    reviewed_heldout: list[int] = field(default_factory=list)

    def file(self, name: str) -> Path:
        """The path of one of :data:`GENERATOR_FILES`."""
        return self.path / f"{name}.jsonl.gz"

    def manifest(self) -> dict[str, Any]:
        """What the registry stores about the data."""
        return {
            "snapshot": str(self.path),
            "data_hash": self.data_hash,
            "sizes": self.sizes,
            "reviewed_train_turns": self.reviewed_train,
            "reviewed_heldout_turns": self.reviewed_heldout,
        }


def _lines(convs: Sequence[Conversation], split: str) -> list[str]:
    return [
        json.dumps(
            {"id": c.id, "topic": c.topic, "split": split, "turns": list(c.turns)},
            ensure_ascii=False,
            sort_keys=True,
        )
        for c in convs
    ]


def _write(path: Path, lines: list[str]) -> None:
    # mtime=0 makes the gzip bytes depend on the content alone, like the hash.
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write("".join(line + "\n" for line in lines).encode("utf-8"))


def reviewed_conversations(
    examples: Sequence[ReviewedExample], holdout: float
) -> tuple[list[Conversation], list[Conversation]]:
    """Reviewed examples with a reply, as (train, held-out) conversations ending in that reply."""
    train, heldout = [], []
    for ex in examples:
        if ex.reply is None:
            continue
        conv = Conversation(f"review-{ex.turn_id}", (*ex.context, ex.reply), ex.topic)
        (heldout if held_out(ex.turn_id, holdout) else train).append(conv)
    return train, heldout


def write_generator_snapshot(
    root: Path,
    base_train: Sequence[Conversation],
    base_val: Sequence[Conversation],
    reviewed_train: Sequence[Conversation],
    reviewed_heldout: Sequence[Conversation],
) -> Snapshot:
    """Write the four files under ``root/generator-<hash>`` (reused if the same data exists).

    ``train`` = base train + reviewed train; ``heldout_base`` = the base corpus's fixed
    validation split; ``heldout_reviewed`` = the reviewed pairs never trained on; both are
    scored by the promotion gate, and together form ``validation`` for early stopping.
    """
    content = {
        "train": _lines(base_train, "train") + _lines(reviewed_train, "train"),
        # Early stopping watches both held-out sets: the base alone would stop before the
        # corrections are learned.
        "validation": _lines(base_val, "validation") + _lines(reviewed_heldout, "validation"),
        "heldout_base": _lines(base_val, "validation"),
        "heldout_reviewed": _lines(reviewed_heldout, "validation"),
    }
    digest = hashlib.sha256()
    for name in GENERATOR_FILES:
        digest.update(f"{name}\n".encode())
        for line in content[name]:
            digest.update(line.encode("utf-8") + b"\n")
    data_hash = digest.hexdigest()
    folder = root / f"generator-{data_hash[:12]}"
    snap = Snapshot(
        folder,
        data_hash,
        {
            "base_train": len(base_train),
            "base_heldout": len(base_val),
            "reviewed_train": len(reviewed_train),
            "reviewed_heldout": len(reviewed_heldout),
        },
        sorted(int(c.id.removeprefix("review-")) for c in reviewed_train),
        sorted(int(c.id.removeprefix("review-")) for c in reviewed_heldout),
    )
    if (folder / "manifest.json").exists():
        return snap
    staging = root / f".{folder.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in GENERATOR_FILES:
        _write(staging / f"{name}.jsonl.gz", content[name])
    (staging / "manifest.json").write_text(json.dumps(snap.manifest(), indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    snap.path = folder
    return snap
