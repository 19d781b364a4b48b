"""Write an evaluation report directory: metrics JSON, plots, misclassified examples."""

from __future__ import annotations

import json
from pathlib import Path

from nlu.evaluate import Report
from nlu.plots import confidence_png, confusion_png


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
