"""Pick and fill a reply template: never the same line twice in a row, never a blank slot."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from typing import Any

from agent.core.script import is_filled, template_fields

# Where a sentence starts: the template's start, or after ., ! or ? and white space.
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")
_FORMATTER = string.Formatter()


def fill(template: str, slots: dict[str, Any]) -> str:
    """``template`` with its ``{slot}`` fields filled; a value that starts a sentence is
    capitalised ("{topic}, great choice!" -> "Robotics, great choice!")."""
    parts: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        parts.append(literal)
        if name is None:
            continue
        value = _FORMATTER.format_field(
            _FORMATTER.convert_field(slots[name], conversion), spec or ""
        )
        if _SENTENCE_START.search("".join(parts)):
            value = value[:1].upper() + value[1:]
        parts.append(value)
    return "".join(parts)


def filled(templates: Sequence[str], slots: dict[str, Any]) -> list[tuple[str, str]]:
    """(template, text) for each template whose fields are all filled, in order."""
    return [
        (template, fill(template, slots))
        for template in templates
        if all(is_filled(slots.get(name)) for name in template_fields(template))
    ]


def pick(texts: Sequence[tuple[str, str]], last_reply: str | None, seed: str) -> str | None:
    """A filled variant other than ``last_reply``, or None when there is none: every variant
    needs a slot that is still empty, or the only one left would repeat the previous reply."""
    fresh = [text for _, text in texts if text != last_reply]
    if not fresh:
        return None
    # Seeded per conversation and turn: replays of a conversation give the same replies.
    return random.Random(seed).choice(fresh)
