"""Build a model folder's hybrid fallback: its reply index, then its ranker, then the report.

``threadbot generator index`` and retraining call :func:`build_fallback`. The index holds the
training split of each corpus (cut with the model's own split seed, so no validation reply can
be retrieved for its own message); the ranker is trained on training exchanges and reported on
validation ones; both land in the model folder beside the checkpoint, the version of which
then covers all three (``generator.checkpoint.fingerprint``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from generator import checkpoint
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.data import Conversation, load_corpus
from generator.decode import DecodeOptions
from generator.index import BuildReport, IndexPair, ReplyIndex, build
from generator.reuse import ReplySource
from generator.scoring import split_for_eval
from generator.selection import all_groups, examples, report, train_ranker
from generator.service import load

PLOT_FILE = "ranker.png"


@dataclass(frozen=True)
class Corpus:
    """A corpus to index: how to load it (``load_corpus`` name or path) and its reuse terms."""

    location: str
    source: ReplySource


@dataclass
class FallbackReport:
    """What the build did: the index report and the selection figures on validation."""

    index: BuildReport
    selection: dict[str, dict[str, float]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)


def index_pairs(convs: Sequence[Conversation], corpus: str) -> Iterator[IndexPair]:
    """Every (message, reply) of ``convs``, with the turn before the message."""
    for conv in convs:
        parent = conv.id.split("#", 1)[0]  # cleaning cuts threads into pieces "id#n"
        for i in range(1, len(conv.turns)):
            previous = conv.turns[i - 2] if i >= 2 else ""
            yield IndexPair(corpus, parent, conv.turns[i - 1], conv.turns[i], previous)


def build_fallback(
    model_dir: Path,
    corpora: Sequence[Corpus],
    *,
    train_examples: int = 2000,
    validation_examples: int = 1000,
    validation_topics: Sequence[str] = (),
) -> FallbackReport:
    """Write ``model_dir``'s index and ranker; :class:`generator.reuse.ReuseNotAllowedError`
    (before anything is written) when a corpus may not be reused."""
    for corpus in corpora:
        corpus.source.check()
    data_cfg = checkpoint.data_config(checkpoint.read(model_dir))
    splits = {
        c.source.name: (
            split_for_eval(load_corpus(c.location), data_cfg, "train"),
            split_for_eval(load_corpus(c.location), data_cfg, "validation", validation_topics),
        )
        for c in corpora
    }
    total = sum(len(c.turns) - 1 for train, _ in splits.values() for c in train)
    with tqdm(total=total, desc="index", unit="pair") as bar:
        pairs = (p for name, (train, _) in splits.items() for p in index_pairs(train, name))
        built = build(model_dir / INDEX_FILE, pairs, [c.source for c in corpora], bar.update)
    # The LSTM scores candidates; retrieval is the fresh index, opened here, not the model's.
    gen = load(checkpoint.resolve(model_dir), seed=0, retrieve=0)
    index = ReplyIndex(model_dir / INDEX_FILE)
    train = [c for tr, _ in splits.values() for c in tr]
    validation = [c for _, va in splits.values() for c in va]
    chosen = examples(train, data_cfg.context_turns, train_examples, seed=1)
    held = examples(validation, data_cfg.context_turns, validation_examples, seed=0)
    with tqdm(total=len(chosen) + len(held), desc="ranker", unit="message") as bar:
        train_rows = all_groups(gen, index, chosen, bar.update)
        val_rows = all_groups(gen, index, held, bar.update)
    ranker = train_ranker(train_rows, corpora=[c.source.name for c in corpora])
    selection = report(val_rows, ranker, DecodeOptions())
    ranker = replace(ranker, trained_on={**ranker.trained_on, "validation": selection})
    ranker.save(model_dir / RANKER_FILE)
    index.close()
    out = FallbackReport(built, selection, ranker.named_weights())
    plot(out, model_dir / PLOT_FILE)
    return out


def plot(found: FallbackReport, path: Path) -> None:
    """Hits@1/20 and MRR of the three scorers beside the ranker's weights, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    scorers = [k for k in ("mmi", "retrieval", "ranker") if k in found.selection]
    for offset, metric in ((-0.2, "hits_at_1"), (0.2, "mrr")):
        values = [found.selection[k][metric] for k in scorers]
        left.bar([i + offset for i in range(len(scorers))], values, width=0.4, label=metric)
    left.set_xticks(range(len(scorers)), scorers)
    left.set_title("response selection on validation (1 human reply in 20)")
    left.legend()
    names = list(found.weights)
    right.barh(names, [found.weights[n] for n in names])
    right.set_title("ranker weights (standardised features)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def describe(found: FallbackReport) -> list[str]:
    """The build report as lines a person reads."""
    lines = found.index.lines()
    for name, figures in found.selection.items():
        if name != "groups":
            lines.append(
                f"{name:>9}: Hits@1/20 {figures['hits_at_1']:.3f}  MRR {figures['mrr']:.3f}"
            )
    groups: Any = found.selection.get("groups", {})
    lines.append(f"(validation groups: {int(groups.get('count', 0))})")
    return lines
