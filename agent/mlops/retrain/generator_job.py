"""``retrain generator``: snapshot, fine-tune (or train afresh), evaluate, gate, register.

When the served model is a hybrid (its folder holds a reply index and a ranker), the release
gets its own index and ranker, built for the new checkpoint, and the gate also compares the
rankers' Hits@1/20.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from agent.mlops.registry.loading import local_path, store_for
from agent.mlops.registry.versions import active_version
from agent.mlops.retrain.gate import (
    HITS_TOLERANCE,
    RANKER_METRIC,
    GateResult,
    combined,
    lower_is_better,
    ranker_rule,
)
from agent.mlops.retrain.publish import Candidate, Published, publish
from agent.mlops.retrain.reviewed import reviewed_examples
from agent.mlops.retrain.scoring import perplexities
from agent.mlops.retrain.snapshot import Snapshot, reviewed_conversations, write_generator_snapshot
from agent.settings import Settings
from generator import checkpoint
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.clean import prepare, split_conversations
from generator.config import DataConfig, TrainConfig
from generator.data import Conversation, load_corpus
from generator.fallback_build import Corpus, FallbackReport, build_fallback, describe
from generator.ranker import Ranker
from generator.reuse import CHITCHAT, ReplySource, ReuseNotAllowedError
from generator.train import load_splits, train

MODEL_NAME = "threadbot-generator"
HELDOUT = ("heldout_base", "heldout_reviewed")


@dataclass(frozen=True)
class FallbackOptions:
    """How a retrain of a hybrid-served deployment rebuilds the reply index and ranker."""

    corpora: tuple[Corpus, ...] = (Corpus("chitchat", CHITCHAT),)
    allow_reuse: bool = False  # the operator's word that the extra corpora may be reposted
    # Modest counts: scoring each group of 20 candidates on a CPU is the slow part.
    train_examples: int = 500
    validation_examples: int = 300
    hits_tolerance: float = HITS_TOLERANCE


DEFAULT_FALLBACK = FallbackOptions()


@dataclass
class GeneratorRetrain:
    """What one run did: the data, the scores side by side, the gate, and the new version."""

    snapshot: Snapshot
    init_from: str | None
    metrics: dict[str, float | None]
    active_metrics: dict[str, float | None] | None
    gate: GateResult
    published: Published | None
    fallback: FallbackReport | None = None  # the release's index and ranker, if built


def served_as(folder: Path) -> str:
    """The version string the loaded generator reports, so turns can be traced to the registry."""
    return f"{MODEL_NAME}@{checkpoint.fingerprint(folder)}"


def extra_splits(
    corpora: Sequence[str | Path], data: DataConfig, topic: str | None
) -> tuple[list[Conversation], list[Conversation]]:
    """Extra corpora (one ``generator collect`` wrote, say), cleaned as the base corpus is and
    labelled with the bot's topic, so the topic token the bot serves with learns from them."""
    convs = [
        replace(conv, topic=topic or conv.topic)
        for source in corpora
        for conv in prepare(load_corpus(source), max_turn_words=data.max_turn_words)
    ]
    return split_conversations(convs, data.val_fraction, data.split_seed)


def is_hybrid(folder: Path) -> bool:
    """Whether a model folder serves the hybrid fallback (a reply index and a ranker)."""
    return folder.is_dir() and all((folder / n).is_file() for n in (INDEX_FILE, RANKER_FILE))


def index_corpora(
    options: FallbackOptions, extra_corpora: Sequence[str | Path], log: Callable[[str], None]
) -> list[Corpus]:
    """The corpora a rebuilt index holds: the base ones, and the extra ones only with the
    operator's consent (an extra corpus still trains the model without it)."""
    out = list(options.corpora)
    for path in map(Path, extra_corpora):
        corpus = Corpus(str(path), ReplySource(path.stem, "collected from X", options.allow_reuse))
        try:
            corpus.source.check()
        except ReuseNotAllowedError as exc:
            log(f"left out of the reply index: {exc}")
            continue
        out.append(corpus)
    return out


def served_hits(folder: Path) -> float | None:
    """The served ranker's Hits@1/20 on validation, as its build recorded it (None if not)."""
    validation = Ranker.load(folder / RANKER_FILE).trained_on.get("validation")
    figures = validation.get("ranker") if isinstance(validation, dict) else None
    hits = figures.get("hits_at_1") if isinstance(figures, dict) else None
    return float(hits) if isinstance(hits, int | float) else None


def build_release_fallback(
    release: Path, corpora: Sequence[Corpus], options: FallbackOptions, log: Callable[[str], None]
) -> FallbackReport:
    """The release's own reply index and ranker: the served ones were fitted to the old
    checkpoint's likelihoods (the ranker's features and the stored anti-LM scores)."""
    log(f"reply index and ranker: {', '.join(c.source.name for c in corpora)}")
    found = build_fallback(
        release,
        corpora,
        train_examples=options.train_examples,
        validation_examples=options.validation_examples,
    )
    for line in describe(found):
        log(line)
    return found


def judge(
    metrics: dict[str, float | None],
    active_metrics: dict[str, float | None] | None,
    margin: float,
    built: FallbackReport | None,
    served: Path | None,
    tolerance: float,
) -> tuple[GateResult, dict[str, float | None], dict[str, float | None] | None]:
    """The gate (perplexities, then the rankers' Hits@1/20 when there is a served model),
    and both models' metrics with the Hits figures added for the registry."""
    gate = lower_is_better(metrics, active_metrics, margin)
    if served is None:
        return gate, metrics, active_metrics
    new = round(built.selection["ranker"]["hits_at_1"], 4) if built is not None else None
    old = served_hits(served) if built is not None else None
    gate = combined(gate, ranker_rule(new, old, tolerance))
    if built is not None:
        metrics = {**metrics, RANKER_METRIC: new}
        active_metrics = {**(active_metrics or {}), RANKER_METRIC: old}
    return gate, metrics, active_metrics


def retrain_generator(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    default_topic: str | None,
    extra_corpora: Sequence[str | Path] = (),
    config: TrainConfig | None = None,
    from_scratch: bool = False,
    force_promote: bool = False,
    dry_run: bool = False,
    by: str = "cli",
    log: Callable[[str], None] = print,
    progress: bool = True,
    fallback: FallbackOptions = DEFAULT_FALLBACK,
) -> GeneratorRetrain:
    """Run the whole generator retrain; ``dry_run`` stops before registering anything."""
    # Long: the retrain's stages in the order they run (snapshot, train, gate, index, register),
    # each logging its result; split, each stage would take and return most of the dozen values the
    # others read.
    cfg = config or TrainConfig.from_file(settings.retrain_generator_config)
    store = store_for(settings)
    with sessions() as session:
        active = active_version(session, "generator")
        examples = reviewed_examples(
            session, context_turns=cfg.data.context_turns, default_topic=default_topic
        )
    base_train, base_val = load_splits(cfg.data)
    extra_train, extra_val = extra_splits(extra_corpora, cfg.data, default_topic)
    rev_train, rev_heldout = reviewed_conversations(examples, settings.retrain_review_holdout)

    # What to fine-tune and what to beat: the registry's active model, else the configured one.
    baseline: Path | None = None
    if active is not None:
        baseline = local_path(active, settings.model_dir, store)
    elif settings.generator_model.exists():
        baseline = settings.generator_model
    init_from = None if from_scratch or baseline is None else baseline
    hybrid = baseline is not None and is_hybrid(baseline)
    # Decided before training, so a corpus left out of the index says so at once.
    corpora = index_corpora(fallback, extra_corpora, log) if hybrid else []
    if init_from is not None and len(base_train) > settings.retrain_replay_conversations:
        base_train = random.Random(cfg.seed).sample(
            base_train, settings.retrain_replay_conversations
        )
    if extra_corpora:
        # After the replay sample: the extra data is what this retrain is for, all of it trains.
        log(
            f"extra corpora {', '.join(map(str, extra_corpora))}: {len(extra_train)} "
            f"conversations to train on, {len(extra_val)} held out with the base's"
        )
        base_train, base_val = [*base_train, *extra_train], [*base_val, *extra_val]
    snap = write_generator_snapshot(
        settings.model_dir / "snapshots", base_train, base_val, rev_train, rev_heldout
    )
    log(
        f"snapshot {snap.path} ({snap.data_hash[:12]}): {snap.sizes['base_train']} base + "
        f"{snap.sizes['reviewed_train']} reviewed conversations to train on; held out "
        f"{snap.sizes['base_heldout']} base, {snap.sizes['reviewed_heldout']} reviewed"
    )

    log(f"{'fine-tuning ' + str(init_from) if init_from else 'training from scratch'}")

    runs = settings.model_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="generator-", dir=runs))
    # The snapshot is already cleaned and topic-filtered; filtering again would drop reviewed
    # conversations whose topic is a slot value rather than the preset's topic.
    run_cfg = replace(
        cfg,
        out_dir=str(out),
        data=replace(cfg.data, corpus=str(snap.path), topics=[], keywords=[]),
    )
    try:
        train(run_cfg, init_from=init_from, name=MODEL_NAME, log=log, progress=progress)

        release = out / "release"
        release.mkdir()
        (out / "best.pt").replace(release / "model.pt")
        for extra in ("metrics.json", "loss.png"):
            if (out / extra).exists():
                (out / extra).replace(release / extra)
        built = build_release_fallback(release, corpora, fallback, log) if hybrid else None

        files = {name: snap.file(name) for name in HELDOUT}
        ppl = perplexities(release / "model.pt", files)
        active_ppl = perplexities(baseline, files) if baseline is not None else None
        gate, metrics, active_metrics = judge(
            ppl,
            active_ppl,
            settings.retrain_generator_margin,
            built,
            baseline,
            fallback.hits_tolerance,
        )
        log(f"gate {gate.summary()}")
        result = GeneratorRetrain(
            snap, str(init_from) if init_from else None, metrics, active_metrics, gate, None, built
        )
        if dry_run:
            log("dry run: nothing registered")
            return result

        result.published = publish(
            sessions,
            Candidate(
                kind="generator",
                files=release,
                data_hash=snap.data_hash,
                data_sizes=snap.sizes,
                config={
                    **run_cfg.to_dict(),
                    "init_from": result.init_from,
                    "extra_corpora": [str(c) for c in extra_corpora],
                    "index_corpora": [c.location for c in corpora],
                    "snapshot": str(snap.path),
                    "reviewed_train_turns": snap.reviewed_train,
                    "reviewed_heldout_turns": snap.reviewed_heldout,
                },
                metrics=dict(metrics),
                active_metrics=dict(active_metrics) if active_metrics else None,
                gate=gate,
                parent_id=active.id if active is not None and init_from is not None else None,
                served_as=served_as,
            ),
            model_dir=settings.model_dir,
            store=store,
            force=force_promote,
            by=by,
        )
        return result
    finally:
        # The release was copied into the model dir; checkpoints with optimizer state are scratch.
        shutil.rmtree(out, ignore_errors=True)
