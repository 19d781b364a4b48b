"""Train the pipeline: entities from the data, classifier fit, calibration, thresholds, save."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from spacy.language import Language
from tqdm import tqdm

from nlu import components  # noqa: F401  (registers the factories the config names)
from nlu.calibrate import GateScore, choose_gate, fit_temperature
from nlu.classifier import softmax
from nlu.data import Example, TrainingData
from nlu.entities import EntityTraining, train_entity_model
from nlu.entity_filter import FILTER
from nlu.folds import out_of_fold_logits
from nlu.normalize import normalized_text
from nlu.stance import fit_stance
from nlu.stance_data import StanceData, with_off_topic

DEFAULT_CONFIG = Path(__file__).with_name("config.cfg")
MODEL_NAME = "threadbot_nlu"


@dataclass(frozen=True)
class TrainOptions:
    """Training choices that are not model hyperparameters (those live in config.cfg)."""

    seed: int = 0
    # Share of each intent held out to choose temperature and thresholds when no val data is given.
    holdout: float = 0.2
    # Out-of-scope recall the gate must reach on validation data that has out-of-scope examples.
    oos_recall: float = 0.6
    # What a wrong scripted answer costs, counted in right answers: 1 trusts an answer only
    # where such answers are more often right than wrong; 0 maximises in-scope accuracy.
    wrong_cost: float = 1.0
    # Refit on train + held-out data after calibration: more data beats an exact temperature.
    refit: bool = True
    # Below this many examples a holdout is too small to choose thresholds on: use k-fold
    # out-of-fold predictions instead (each fit is cheap at that size).
    cv_below: int = 3000
    folds: int = 5
    # How the entity model of open labels is trained (only when the data annotates one).
    entities: EntityTraining = field(default_factory=EntityTraining)
    progress: bool = True


def build_pipeline(config: Path | None = None) -> Language:
    """Create the untrained pipeline from a config file (the repo's ``nlu/config.cfg``)."""
    cfg = spacy.util.load_config(config or DEFAULT_CONFIG)
    return spacy.util.load_model_from_config(cfg, auto_fill=True, validate=True)


def entity_patterns(data: TrainingData) -> list[dict[str, Any]]:
    """EntityRuler phrase patterns, ids canonical: synonyms, lookups, closed labels' annotations."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for label, spec in sorted(data.entities.items()):
        for phrase in spec.phrases():
            key = (label, phrase.casefold())
            seen.setdefault(key, {"label": label, "pattern": phrase, "id": spec.canonical(phrase)})
    for example in data.examples:
        for span in example.spans:
            phrase = example.text[span.start : span.end]
            spec = data.entities.get(span.label)
            if spec is not None and spec.open:
                continue  # the entity model learns open labels; as rules they over-match
            value = spec.canonical(phrase) if spec else phrase
            seen.setdefault(
                (span.label, phrase.casefold()),
                {"label": span.label, "pattern": phrase, "id": value},
            )
    return list(seen.values())


def split(data: TrainingData, holdout: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Hold out a share of each intent, keeping at least two examples of it for training."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in data.examples:
        by_intent[example.intent].append(example)
    rng = random.Random(seed)
    train, val = [], []
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        n_val = min(round(len(items) * holdout), max(len(items) - 2, 0))
        val.extend(items[:n_val])
        train.extend(items[n_val:])
    return train, val


def out_of_fold(
    nlp: Language, data: TrainingData, opts: TrainOptions
) -> tuple[list[Example], np.ndarray]:
    """Predict every example with a model that did not see it; columns follow the full labels."""
    texts = normalize_all(nlp, [e.text for e in data.examples])
    template = nlp.get_pipe("intent_classifier").model
    labels = [e.intent for e in data.examples]
    _, logits = out_of_fold_logits(template, texts, labels, opts.folds, opts.seed)
    return list(data.examples), logits


def normalize_all(nlp: Language, texts: list[str]) -> list[str]:
    """Run only the tokenizer and normaliser: the text the classifier reads."""
    with nlp.select_pipes(enable=["tweet_normalizer"]):
        return [normalized_text(doc) for doc in nlp.pipe(texts, batch_size=512)]


def train(
    data: TrainingData,
    *,
    val: TrainingData | None = None,
    config: Path | None = None,
    options: TrainOptions | None = None,
    stance: StanceData | None = None,
) -> Language:
    """Train a pipeline on ``data``; choose calibration and gate on ``val`` or a held-out share.

    With ``stance`` data the pipeline also learns which side a message takes (nlu/stance.py).
    """
    opts = options or TrainOptions()
    started = time.perf_counter()
    random.seed(opts.seed)
    np.random.seed(opts.seed)
    bar = tqdm(total=6, desc="nlu train", unit="step", disable=not opts.progress)
    nlp = build_pipeline(config)
    entity_model = setup_entities(nlp, data, opts, bar)
    bar.update()
    validation = fit_intents(nlp, data, val, opts, bar)
    bar.update()
    gate = calibrate(
        nlp,
        validation.examples,
        validation.logits,
        data.out_of_scope,
        opts.oos_recall,
        opts.wrong_cost,
    )
    bar.set_postfix_str("calibrated")
    bar.update()
    if opts.refit and val is None and len(data.examples) >= opts.cv_below:
        bar.set_postfix_str(f"refitting on {len(data.examples)} examples")
        refit(nlp, data.examples, opts.seed)
    bar.update()
    stance_figures = None if stance is None else _train_stance(nlp, data, stance, opts.seed, bar)
    bar.update()
    nlp.meta["name"] = MODEL_NAME
    seconds = time.perf_counter() - started
    nlp.meta["threadbot"] = describe(
        nlp, data, validation, gate, entity_model, opts, seconds, stance, stance_figures
    )
    bar.set_postfix_str("done")
    bar.update()
    bar.close()
    return nlp


def _train_stance(
    nlp: Language, data: TrainingData, stance: StanceData, seed: int, bar: tqdm
) -> dict[str, Any]:
    """Fit the stance pipe on ``stance`` and, as ``none``, the intents' out-of-scope examples;
    return its out-of-fold figures."""
    learned = stance
    if data.out_of_scope is not None:
        off_topic = (e.text for e in data.examples if e.intent == data.out_of_scope)
        learned = with_off_topic(stance, off_topic)
    bar.set_postfix_str(f"stance on {len(learned.examples)} examples")
    texts = normalize_all(nlp, [e.text for e in learned.examples])
    return fit_stance(nlp, learned, texts, seed)


def setup_entities(
    nlp: Language, data: TrainingData, opts: TrainOptions, bar: tqdm[Any]
) -> dict[str, Any] | None:
    """Load the data's entity tables and patterns; train the entity model of open labels."""
    patterns = entity_patterns(data)
    if patterns:
        nlp.get_pipe("entity_ruler").add_patterns(patterns)
    else:
        # An empty EntityRuler warns (W036) on every call; a disabled one is skipped and saved
        # as disabled in the model's config.
        nlp.disable_pipe("entity_ruler")
    regex = nlp.get_pipe("regex_entities")
    for label, spec in sorted(data.entities.items()):
        regex.add_patterns(label, spec.patterns)
    entity_model = None
    if data.open_labels:
        bar.set_postfix_str("entity model")
        entity_model = train_entity_model(
            nlp,
            data.examples,
            data.open_labels,
            seed=opts.seed,
            options=opts.entities,
            progress=opts.progress,
        )
        if opts.entities.intent_filter is not None:
            # Last in the pipeline: it reads the intents the classifier sets.
            entity_filter = nlp.add_pipe(
                FILTER, last=True, config={"min_confidence": opts.entities.intent_filter}
            )
            entity_filter.learn(data.examples, data.open_labels)
    bar.set_postfix_str("entities")
    return entity_model


@dataclass(frozen=True)
class Validation:
    """The examples calibration is chosen on, their out-of-fold logits if any, and their origin."""

    examples: list[Example]
    logits: np.ndarray | None
    source: str


def fit_intents(
    nlp: Language, data: TrainingData, val: TrainingData | None, opts: TrainOptions, bar: tqdm[Any]
) -> Validation:
    """Fit the intent classifier, keeping apart the examples to calibrate on: ``val`` when
    given, else out-of-fold predictions on small data, else a held-out share."""
    if val is not None:
        bar.set_postfix_str(f"fitting on {len(data.examples)} examples")
        fit_classifier(nlp, data.examples, opts.seed)
        return Validation(list(val.examples), None, "given")
    if len(data.examples) < opts.cv_below:
        bar.set_postfix_str(f"{opts.folds}-fold predictions")
        known, logits = out_of_fold(nlp, data, opts)
        fit_classifier(nlp, data.examples, opts.seed)
        return Validation(known, logits, f"{opts.folds}-fold cross-validation on the training data")
    train_ex, known = split(data, opts.holdout, opts.seed)
    bar.set_postfix_str(f"fitting on {len(train_ex)} examples")
    fit_classifier(nlp, train_ex, opts.seed)
    return Validation(known, None, f"held out {opts.holdout:.0%} of the training data")


def fit_classifier(nlp: Language, examples: list[Example], seed: int) -> None:
    """Fit the intent classifier on ``examples``."""
    classifier = nlp.get_pipe("intent_classifier").model
    classifier.fit(
        normalize_all(nlp, [e.text for e in examples]), [e.intent for e in examples], seed=seed
    )


def refit(nlp: Language, examples: list[Example], seed: int) -> None:
    """Fit again on ``examples``, keeping the calibrated temperature (a fit resets it)."""
    temperature = nlp.get_pipe("intent_classifier").model.temperature
    fit_classifier(nlp, examples, seed)
    nlp.get_pipe("intent_classifier").model.temperature = temperature


def describe(
    nlp: Language,
    data: TrainingData,
    validation: Validation,
    gate: GateScore | None,
    entity_model: dict[str, Any] | None,
    opts: TrainOptions,
    seconds: float,
    stance: StanceData | None = None,
    stance_figures: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The training record saved in the model's meta.json (and metrics.json)."""
    classifier = nlp.get_pipe("intent_classifier").model
    # The version names all the data the model learned from, the stance examples included.
    digest = data.digest() if stance is None else combined_hash(data.digest(), stance.digest())
    return {
        "data_hash": digest,
        "source": data.source,
        "examples": len(data.examples),
        "labels": classifier.labels,
        "out_of_scope": data.out_of_scope,
        "entity_labels": sorted(data.entity_labels),
        **({"entity_model": entity_model} if entity_model else {}),
        "temperature": classifier.temperature,
        "gate": asdict(nlp.get_pipe("intent_gate").gate),
        "validation": {
            "examples": len([e for e in validation.examples if e.intent in classifier.labels]),
            "source": validation.source,
            **(gate.as_dict() if gate else {}),
        },
        "seed": opts.seed,
        "spacy_version": spacy.__version__,
        "train_seconds": round(seconds, 2),
        # The trade-off the gate was chosen by: a retrain from reviewed logs keeps it.
        "wrong_cost": opts.wrong_cost,
        **({"stance": stance_figures} if stance is not None else {}),
    }


def calibrate(
    nlp: Language,
    examples: list[Example],
    logits: np.ndarray | None = None,
    oos_name: str | None = None,
    oos_recall: float = 0.6,
    wrong_cost: float = 1.0,
) -> GateScore | None:
    """Fit the temperature and choose the gate on validation examples; store both in ``nlp``.

    ``logits`` may be given when they were predicted elsewhere (out-of-fold); their columns
    follow the classifier's labels. Examples of intents the classifier lacks are skipped.
    """
    classifier = nlp.get_pipe("intent_classifier").model
    index = {label: i for i, label in enumerate(classifier.labels)}
    keep = [i for i, e in enumerate(examples) if e.intent in index]
    if not keep:
        return None
    if logits is None:
        logits = classifier.logits_many(normalize_all(nlp, [examples[i].text for i in keep]))
    else:
        logits = logits[keep]
    gold = np.array([index[examples[i].intent] for i in keep])
    classifier.temperature = fit_temperature(logits, gold)
    oos = index.get(oos_name) if oos_name else None
    probs = softmax(logits / classifier.temperature)
    score = choose_gate(probs, gold, oos, oos_recall, wrong_cost)
    nlp.replace_pipe("intent_gate", "intent_gate", config=asdict(score.gate))
    return score


def combined_hash(*digests: str) -> str:
    """One short hash for several data files' digests."""
    return hashlib.sha256("/".join(digests).encode()).hexdigest()[:12]


def save(nlp: Language, out: Path) -> Path:
    """Write the pipeline directory and a ``metrics.json`` copy of the training metadata."""
    out = Path(out)
    nlp.to_disk(out)
    meta = nlp.meta.get("threadbot", {})
    (out / "metrics.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return out
