"""The side a message argues as the fallback acts on it (agent/core/sides.py)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.core.sides import message_side
from nlu.types import Stance

SURE_AGAINST = {"label": "against", "confidence": 0.9, "sure": True}


@pytest.mark.parametrize(
    ("stance", "previous", "expected"),
    [
        (Stance("favor", 0.9, True), SURE_AGAINST, ("favor", True)),  # its own side first
        (Stance("favor", 0.5, False), SURE_AGAINST, ("favor", False)),  # even a lean
        (Stance("none", 0.9, False), SURE_AGAINST, ("against", False)),  # the thread's, unsure
        (None, SURE_AGAINST, ("against", False)),  # an NLU that reads no stance
        (Stance("none", 0.9, False), {**SURE_AGAINST, "sure": False}, ("none", False)),
        (Stance("none", 0.9, False), None, ("none", False)),  # the thread's first message
        # Stored JSON from an older version, a damaged row, a hostile value: no side.
        (Stance("none", 0.9, False), {"label": "none", "sure": True}, ("none", False)),
        (Stance("none", 0.9, False), {"label": "favor", "sure": "yes"}, ("none", False)),
        (Stance("none", 0.9, False), {"label": "\u202efavor", "sure": True}, ("none", False)),
        (Stance("none", 0.9, False), ["favor", True], ("none", False)),
        (Stance("none", 0.9, False), "favor", ("none", False)),
    ],
)
def test_message_side(stance: Stance | None, previous: Any, expected: tuple[str, bool]) -> None:
    assert message_side(stance, previous) == expected
