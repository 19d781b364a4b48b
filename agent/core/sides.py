"""The side a message argues toward the bot's topic, as the fallback acts on it.

The NLU reads each message alone; a thread argues as a whole. "then what's the point of using
one" takes no side by itself, but after "chatbots just make stuff up" it carries the
skeptic's, and a reply picked for its fit ("Yeah me too. It still has a ways to go before it
gets really useful") would agree with it. So a message that takes no side leans to the side
the thread's last message was sure to take: a lean, never a sure side, so the bot answers it
with its neutral lines (agent/core/grounded.py), not with what it says to that side. Only a
sure side carries over: after a message that merely leaned, "haha fair enough" is small talk.
"""

from __future__ import annotations

from typing import Any

from nlu.stance_data import SIDES
from nlu.types import Stance


def message_side(stance: Stance | None, previous: Any) -> tuple[str, bool]:
    """(side, sure): the side ``stance`` takes (favor, against, none) and whether the NLU is
    sure of it; with none, the side ``previous`` (the thread's last turn's stored stance,
    ``{"label", "confidence", "sure"}``) was sure of, unsure."""
    if stance is not None and stance.label in SIDES:
        return stance.label, stance.sure
    if (
        isinstance(previous, dict)
        and previous.get("sure") is True
        and previous.get("label") in SIDES
    ):
        return previous["label"], False
    return "none", False
