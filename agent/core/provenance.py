"""A fallback reply's provenance (``Generated.source``) as JSON any database keeps and any page
can show.

The source is the generator's data, partly copied from a corpus of human replies: its strings
may hold NUL or lone surrogates (neither UTF-8 nor PostgreSQL text carries them), its numbers
may be NaN (JSON has none) or numpy scalars (json cannot encode them), and its nesting may run
deeper than json's recursive encoder goes. A turn must never fail to save over its provenance,
so the source is made safe once, before the turn is written.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping
from typing import Any

from agent.core.messages import storable_text

# Provenance is a summary for reviewers: deeper, longer or larger parts are cut, not stored.
MAX_DEPTH = 4
MAX_ITEMS = 50
MAX_CHARS = 300
# Stands in for a container nested below MAX_DEPTH.
TOO_DEEP = "…"


def storable_source(source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``source`` with strings made storable and capped, non-finite numbers as null, numpy
    scalars as plain numbers, unknown objects as text and nesting cut at ``MAX_DEPTH``."""
    return None if source is None else _mapping(source, 0)


def _mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    items = itertools.islice(value.items(), MAX_ITEMS)
    return {_text(key): _storable(item, depth + 1) for key, item in items}


def _storable(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, Mapping):
            return _mapping(value, depth)
        return [_storable(item, depth + 1) for item in value[:MAX_ITEMS]]
    return _text(value)


def _text(value: Any) -> str:
    return storable_text(str(value)[:MAX_CHARS])
