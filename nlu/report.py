"""Write an evaluation report directory: metrics JSON, plots, misclassified examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nlu.evaluate import Report
from nlu.plots import confidence_png, confusion_png, matrix_png
from nlu.stance_data import STANCES


def write_report(report: Report, out: Path, threshold: float | None) -> dict[str, Path]:
    """Write report.json, confusion.png, confidence.png and misclassified.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report": out / "report.json",
        "confusion": out / "confusion.png",
        "confidence": out / "confidence.png",
        "misclassified": out / "misclassified.json",
    }
    files["report"].write_text(json.dumps(report.metrics, indent=2), encoding="utf-8")
    files["misclassified"].write_text(
        json.dumps(report.misclassified, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    confusion_png(report.outcomes, files["confusion"])
    confidence_png(report.outcomes, threshold, files["confidence"])
    return files


def write_stance_report(
    scores: dict[str, Any], wrong: list[dict[str, Any]], out: Path
) -> dict[str, Path]:
    """Write stance.json, stance_confusion.png and stance_misclassified.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report": out / "stance.json",
        "confusion": out / "stance_confusion.png",
        "misclassified": out / "stance_misclassified.json",
    }
    files["report"].write_text(json.dumps(scores, indent=2), encoding="utf-8")
    files["misclassified"].write_text(
        json.dumps(wrong, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    matrix = np.array([[scores["confusion"][g][p] for p in STANCES] for g in STANCES])
    matrix_png(matrix, STANCES, "predicted", "Stance confusion matrix", files["confusion"])
    return files
