"""Pick and fill a reply template: never the same line twice in a row, never a blank slot."""

from __future__ import annotations

import random
from typing import Any

from agent.script import template_fields


def render_reply(
    templates: tuple[str, ...], slots: dict[str, Any], last_reply: str | None, seed: str
) -> str | None:
    """A filled variant, or None when every variant needs a slot that is still empty."""
    filled = [
        template.format_map(slots)
        for template in templates
        if all(slots.get(name) not in (None, "") for name in template_fields(template))
    ]
    fresh = [text for text in filled if text != last_reply] or filled
    if not fresh:
        return None
    # Seeded per conversation and turn: replays of a conversation give the same replies.
    return random.Random(seed).choice(fresh)
