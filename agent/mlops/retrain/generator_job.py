"""``retrain generator``: snapshot, fine-tune (or train afresh), evaluate, gate, register."""

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
from agent.mlops.retrain.gate import GateResult, lower_is_better
from agent.mlops.retrain.publish import Candidate, Published, publish
from agent.mlops.retrain.reviewed import reviewed_examples
from agent.mlops.retrain.scoring import perplexities
from agent.mlops.retrain.snapshot import Snapshot, reviewed_conversations, write_generator_snapshot
from agent.settings import Settings
from generator import checkpoint
from generator.clean import prepare, split_conversations
from generator.config import DataConfig, TrainConfig
from generator.data import Conversation, load_corpus
from generator.train import load_splits, train

MODEL_NAME = "threadbot-generator"
HELDOUT = ("heldout_base", "heldout_reviewed")


@dataclass
class GeneratorRetrain:
    """What one run did: the data, the scores side by side, the gate, and the new version."""

    snapshot: Snapshot
    init_from: str | None
    metrics: dict[str, float | None]
    active_metrics: dict[str, float | None] | None
    gate: GateResult
    published: Published | None


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
) -> GeneratorRetrain:
    """Run the whole generator retrain; ``dry_run`` stops before registering anything."""
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

        files = {name: snap.file(name) for name in HELDOUT}
        metrics = perplexities(out / "best.pt", files)
        active_metrics = perplexities(baseline, files) if baseline is not None else None
        gate = lower_is_better(metrics, active_metrics, settings.retrain_generator_margin)
        log(f"gate {gate.summary()}")
        result = GeneratorRetrain(
            snap, str(init_from) if init_from else None, metrics, active_metrics, gate, None
        )
        if dry_run:
            log("dry run: nothing registered")
            return result

        release = out / "release"
        release.mkdir()
        (out / "best.pt").replace(release / "model.pt")
        for extra in ("metrics.json", "loss.png"):
            if (out / extra).exists():
                (out / extra).replace(release / extra)
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
