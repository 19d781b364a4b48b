"""The NLU's result types as stored on every turn."""

from __future__ import annotations

from dataclasses import asdict

from nlu.types import Entity, IntentScore


def test_as_json_holds_every_field_as_asdict_would() -> None:
    """The dicts are written by hand for speed: a new field must be added there too."""
    for item in (
        IntentScore("greet", 0.9),
        Entity("topic", "neural nets", 4, 15, "neural networks", "model"),
    ):
        assert item.as_json() == asdict(item)
