"""K-fold cross-validation: train on K-1 folds, parse the held-out fold, pool the outcomes."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from nlu.data import TrainingData
from nlu.evaluate import Outcome, Report, evaluate, metrics
from nlu.folds import stratified_folds
from nlu.model import NLUModel
from nlu.train import TrainOptions, train


def cross_validate(
    data: TrainingData, k: int, *, config: Path | None = None, seed: int = 0
) -> tuple[Report, float]:
    """Return the pooled report and the mean chosen threshold over ``k`` folds."""
    fold_of = stratified_folds([e.intent for e in data.examples], k, seed)
    outcomes: list[Outcome] = []
    thresholds = []
    for fold in tqdm(range(k), desc="cross-validation", unit="fold"):
        test = [e for e, f in zip(data.examples, fold_of, strict=True) if f == fold]
        rest = data.subset(e for e, f in zip(data.examples, fold_of, strict=True) if f != fold)
        options = TrainOptions(seed=seed, progress=False)
        model = NLUModel(train(rest, config=config, options=options), Path("<fold>"))
        thresholds.append(model.meta["gate"]["threshold"])
        outcomes.extend(evaluate(test, model.parse_many(e.text for e in test)).outcomes)
    return Report(outcomes, metrics(outcomes)), sum(thresholds) / len(thresholds)
