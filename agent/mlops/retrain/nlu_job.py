"""``retrain nlu``: intents data plus reviewers' corrected intents, trained, scored, gated."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

import nlu
from agent.mlops.registry.loading import local_path, store_for
from agent.mlops.registry.versions import active_version
from agent.mlops.retrain.gate import GateResult, higher_is_better
from agent.mlops.retrain.publish import Candidate, Published, publish
from agent.mlops.retrain.reviewed import ReviewedExample, held_out, reviewed_examples
from agent.settings import Settings
from nlu.data import Example, TrainingData
from nlu.evaluate import evaluate
from nlu.stance_data import beside, load_stance
from nlu.train import TrainOptions, save, train

GATED = ("in_scope_accuracy", "oos_recall")


@dataclass
class NLUSnapshot:
    """The intents data plus corrections, written beside the generator snapshots."""

    path: Path
    data: TrainingData
    heldout: list[Example]
    sizes: dict[str, int]
    reviewed_train: list[int]
    reviewed_heldout: list[int]

    @property
    def data_hash(self) -> str:
        """The NLU's own hash of everything training reads (also in the model's version)."""
        return self.data.digest()


@dataclass
class NLURetrain:
    """What one run did."""

    snapshot: NLUSnapshot
    metrics: dict[str, Any]
    active_metrics: dict[str, Any] | None
    gate: GateResult
    published: Published | None


def build_nlu_snapshot(
    root: Path, base: TrainingData, examples: Sequence[ReviewedExample], holdout: float
) -> NLUSnapshot:
    """Add each corrected intent (known intents only) as an example; hold a slice out."""
    known = base.intent_names
    seen = {e.text.casefold() for e in base.examples}
    added: list[tuple[int, Example]] = []
    heldout: list[tuple[int, Example]] = []
    for ex in examples:
        text = ex.context[-1]
        if ex.intent is None or ex.intent not in known or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        (heldout if held_out(ex.turn_id, holdout) else added).append(
            (ex.turn_id, Example(text, ex.intent))
        )
    data = base.subset([*base.examples, *(e for _, e in added)])
    rows = {
        "added": [[e.text, e.intent] for _, e in added],
        "heldout": [[e.text, e.intent] for _, e in heldout],
    }
    digest = hashlib.sha256(json.dumps([data.digest(), rows], sort_keys=True).encode()).hexdigest()
    folder = root / f"nlu-{digest[:12]}"
    snap = NLUSnapshot(
        folder,
        data,
        [e for _, e in heldout],
        {
            "base_examples": len(base.examples),
            "reviewed_train": len(added),
            "reviewed_heldout": len(heldout),
        },
        [t for t, _ in added],
        [t for t, _ in heldout],
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name, items in rows.items():
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items)
        (folder / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    manifest = {
        "base": base.source,
        "data_hash": data.digest(),
        "sizes": snap.sizes,
        "reviewed_train_turns": snap.reviewed_train,
        "reviewed_heldout_turns": snap.reviewed_heldout,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return snap


def score(model: nlu.NLUModel, sets: dict[str, Sequence[Example]]) -> dict[str, Any]:
    """In-scope accuracy and out-of-scope recall on each non-empty set, keyed ``set.metric``."""
    out: dict[str, Any] = {}
    for name, examples in sets.items():
        if not examples:
            continue
        metrics = evaluate(examples, model.parse_many(e.text for e in examples)).metrics
        for key in GATED:
            out[f"{name}.{key}"] = metrics[key]
    if not out:
        # Nothing held out to score on: fall back to the model's own cross-validated figures,
        # computed the same way for both models at training time.
        validation = model.meta.get("validation", {})
        out = {f"cv.{key}": validation.get(key) for key in GATED}
    return out


def retrain_nlu(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    force_promote: bool = False,
    dry_run: bool = False,
    by: str = "cli",
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> NLURetrain:
    """Run the whole NLU retrain; ``dry_run`` stops before registering anything."""
    # Long: the NLU retrain's stages in order (snapshot, train, test, gate, register), as
    # retrain_generator; they share the splits, the reports and the registry handle.
    store = store_for(settings)
    with sessions() as session:
        active = active_version(session, "nlu")
        examples = reviewed_examples(session, context_turns=1, default_topic=None)
    base = nlu.load_intents(settings.intents_path)
    snap = build_nlu_snapshot(
        settings.model_dir / "snapshots", base, examples, settings.retrain_review_holdout
    )
    log(
        f"snapshot {snap.path}: {snap.sizes['base_examples']} examples + "
        f"{snap.sizes['reviewed_train']} corrected intents; "
        f"{snap.sizes['reviewed_heldout']} held out"
    )
    baseline = (
        local_path(active, settings.model_dir, store) if active is not None else settings.nlu_model
    )
    runs = settings.model_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="nlu-", dir=runs))
    try:
        stance_file = beside(settings.intents_path)
        stance = load_stance(stance_file) if stance_file is not None else None
        # The active model's gate trade-off (docs/nlu.md, --wrong-cost), so a retrain does
        # not loosen what the operator chose.
        serving = nlu.load(baseline) if baseline.exists() else None
        known = serving.meta.get("wrong_cost", 1.0) if serving is not None else 1.0
        options = TrainOptions(progress=progress, wrong_cost=float(known))
        nlp = train(snap.data, options=options, stance=stance)
        save(nlp, out / "release")
        sets: dict[str, Sequence[Example]] = {"reviewed": snap.heldout}
        if settings.retrain_nlu_eval is not None:
            sets["eval"] = nlu.load_data(settings.retrain_nlu_eval).examples
        metrics = score(nlu.load(out / "release"), sets)
        active_metrics = score(serving, sets) if serving is not None else None
        # A model without out-of-scope data has no oos recall: compare what both have.
        gate = higher_is_better(metrics, active_metrics, settings.retrain_nlu_margin)
        log(f"gate {gate.summary()}")
        result = NLURetrain(snap, metrics, active_metrics, gate, None)
        if dry_run:
            log("dry run: nothing registered")
            return result
        result.published = publish(
            sessions,
            Candidate(
                kind="nlu",
                files=out / "release",
                data_hash=snap.data_hash,
                data_sizes=snap.sizes,
                config={
                    "base": base.source,
                    "snapshot": str(snap.path),
                    "reviewed_train_turns": snap.reviewed_train,
                    "reviewed_heldout_turns": snap.reviewed_heldout,
                },
                metrics=metrics,
                active_metrics=active_metrics,
                gate=gate,
                parent_id=active.id if active is not None else None,
                served_as=lambda path: nlu.load(path).version,
            ),
            model_dir=settings.model_dir,
            store=store,
            force=force_promote,
            by=by,
        )
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)
