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

import torch
from tqdm import tqdm

from generator import checkpoint
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.data import Conversation, load_corpus, on_side
from generator.decode import DecodeOptions
from generator.errors import GeneratorError
from generator.hybrid import MAX_REPLY_TOKENS
from generator.index import BuildReport, IndexPair, ReplyIndex, build, store_anti_lm
from generator.ranker import Featurizer
from generator.rerank import reply_logprobs
from generator.reuse import ReplySource
from generator.scoring import split_for_eval
from generator.selection import GROUP_SIZE, all_groups, examples, report, train_ranker
from generator.service import Seq2SeqReplyGenerator, load
from nlu.wordvectors import SHIPPED, WordVectors

PLOT_FILE = "ranker.png"
LM_BATCH = 128  # replies scored per teacher-forced pass


@dataclass(frozen=True)
class Corpus:
    """A corpus to index: how to load it (``load_corpus`` name or path), its reuse terms, and
    the side its threads must take (None: all of them)."""

    location: str
    source: ReplySource
    side: str | None = None

    def load(self) -> list[Conversation]:
        """Its conversations, those of ``side`` only when one is set."""
        convs = load_corpus(self.location)
        return convs if self.side is None else on_side(convs, self.side, self.location)


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
    """Write ``model_dir``'s index and ranker, both or neither: they are built beside the old
    ones and swapped in together at the end, so a failed build leaves a folder that loads as
    before. :class:`generator.reuse.ReuseNotAllowedError` (before anything is written) when a
    corpus may not be reused; :class:`GeneratorError` when too few pairs make a group."""
    for corpus in corpora:
        corpus.source.check()
    data_cfg = checkpoint.data_config(checkpoint.read(model_dir))
    loaded = {c.source.name: c.load() for c in corpora}
    train = {name: split_for_eval(convs, data_cfg, "train") for name, convs in loaded.items()}
    validation = [
        conv
        for convs in loaded.values()
        for conv in split_for_eval(convs, data_cfg, "validation", validation_topics)
    ]
    staged = {name: model_dir / f"{name}.new" for name in (INDEX_FILE, RANKER_FILE, PLOT_FILE)}
    try:
        # Replies must keep to words the chitchat vectors know: typos and stretched words read
        # as noise, and the anti-LM term would reward them for being unlikely.
        vectors = WordVectors.load(SHIPPED)  # read once: vocabulary here, features below
        total = sum(len(c.turns) - 1 for convs in train.values() for c in convs)
        with tqdm(total=total, desc="index", unit="pair") as bar:
            pairs = (p for name, convs in train.items() for p in index_pairs(convs, name))
            sources = [c.source for c in corpora]
            built = build(staged[INDEX_FILE], pairs, sources, bar.update, vectors.index)
        # The LSTM alone (the checkpoint file: no index or ranker of the folder's is read).
        gen = load(checkpoint.resolve(model_dir), seed=0, retrieve=0)
        store_topic_scores(gen, staged[INDEX_FILE])
        out = _fit_ranker(
            gen,
            staged,
            built,
            train,
            validation,
            vectors,
            data_cfg.context_turns,
            (train_examples, validation_examples),
        )
        for name, path in staged.items():
            path.replace(model_dir / name)
        return out
    finally:
        for path in staged.values():
            path.unlink(missing_ok=True)


def _fit_ranker(
    gen: Seq2SeqReplyGenerator,
    staged: dict[str, Path],
    built: BuildReport,
    train: dict[str, list[Conversation]],
    validation: list[Conversation],
    vectors: WordVectors,
    context_turns: int,
    counts: tuple[int, int],
) -> FallbackReport:
    """Train the ranker on training exchanges, report it on validation ones, save both."""
    index = ReplyIndex(staged[INDEX_FILE])
    try:
        convs = [c for cs in train.values() for c in cs]
        chosen = examples(convs, context_turns, counts[0], 1, vectors.index)
        held = examples(validation, context_turns, counts[1], 0, vectors.index)
        featurizer = Featurizer(index, vectors)
        with tqdm(total=len(chosen) + len(held), desc="ranker", unit="message") as bar:
            train_rows = all_groups(gen, featurizer, chosen, bar.update)
            val_rows = all_groups(gen, featurizer, held, bar.update)
    finally:
        index.close()
    if not train_rows or not val_rows:
        raise GeneratorError(
            f"too few pairs to make groups of {GROUP_SIZE} candidates "
            f"({len(train_rows)} training, {len(val_rows)} validation): index more conversations"
        )
    ranker = train_ranker(train_rows, corpora=list(train))
    selection = report(val_rows, ranker, DecodeOptions())
    ranker = replace(ranker, trained_on={**ranker.trained_on, "validation": selection})
    ranker.save(staged[RANKER_FILE])
    out = FallbackReport(built, selection, ranker.named_weights())
    plot(out, staged[PLOT_FILE])
    return out


def store_topic_scores(gen: Seq2SeqReplyGenerator, path: Path) -> None:
    """Store log p(reply | topic token alone) of every indexed reply for each of the model's
    topic tokens (the no-topic one included): the anti-LM feature, paid for once here."""
    index = ReplyIndex(path)
    rows = index.all_replies()
    index.close()
    topics = gen.tok.topic_ids
    with tqdm(total=len(rows) * len(topics), desc="anti-LM", unit="reply") as bar:
        for topic in topics:
            values: list[tuple[int, float]] = []
            for start in range(0, len(rows), LM_BATCH):
                part = rows[start : start + LM_BATCH]
                ids = [gen.tok.encode(text)[:MAX_REPLY_TOKENS] for _, text in part]
                with torch.inference_mode():
                    logp = reply_logprobs(
                        gen.model, gen.tok, [[topic]], [0] * len(part), ids, gen.device, True
                    )
                values += zip((pair for pair, _ in part), logp.tolist(), strict=True)
                bar.update(len(part))
            store_anti_lm(path, topic, values)


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
    fig.savefig(path, dpi=100, format="png")
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
