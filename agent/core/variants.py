"""Ranked reply options: what the bot can say instead when its first choice was used lately.

Order (docs/twitter.md): the chosen template; the transition's or state's other templates
(never the reply this user just got); the same with the user's name where a template has a
``{name}`` slot; generator candidates; the script's canned lines; and, when every one of those
is taken, a canned line numbered so it cannot repeat.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from agent.core.messages import clean_text
from agent.core.replies import filled, pick
from agent.core.script import NAME_SLOT, template_fields
from generator import guard
from generator.tweetlen import fit

# Long enough for a real display name, short enough to leave the reply room.
NAME_MAX_CHARS = 30
# Characters that would make a name read as a handle, a hashtag or a link.
_NAME_DROP = re.compile(r"[@#<>\\/:]")
# Numbered last resorts are tried this many at a time.
_NUMBERED_BATCH = 50
# Where the numbering of each canned line left off in this process: a hint that spares
# re-checking numbers already used (the window still checks every number tried).
_next_number: dict[str, int] = {}


@dataclass(frozen=True)
class Option:
    """One reply the turn could give, and where it came from."""

    text: str
    # template | personalised | generated | canned | numbered
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source}  # asdict is 5x slower, every turn


class TextWindow(Protocol):
    """A channel's memory of the texts it posted lately (X: agent/channels/twitter/window.py)."""

    def first_free(self, session: Session, texts: Sequence[str]) -> int | None:
        """Index of the first text not used lately, reserved for this transaction; or None."""
        ...


def display_name(*names: str | None) -> str | None:
    """The first of ``names`` (display name, then handle) that is safe to put in a reply.

    Invisible, bidi and control characters go, spaces collapse, handle and link characters are
    dropped, the length is capped at a word boundary, and the name must pass the reply guard.
    """
    for raw in names:
        if not raw:
            continue
        name = clean_text(_NAME_DROP.sub(" ", raw))
        if len(name) > NAME_MAX_CHARS:  # at a word boundary; one long word is cut inside
            name = (fit(name, NAME_MAX_CHARS) or name)[:NAME_MAX_CHARS].strip()
        if name and any(c.isalnum() for c in name) and guard.check(name) is None:
            return name
    return None


def ranked(
    templates: Sequence[str],
    slots: dict[str, Any],
    last_reply: str | None,
    seed: str,
    name: str | None,
    source: str = "template",
) -> list[Option]:
    """Every fillable template, the usual choice first, then plain ones, then personalised."""
    variants = filled(templates, {**slots, NAME_SLOT: name} if name else slots)  # once each
    first = pick(variants, last_reply, seed)
    texts = dict(variants)
    if first is None:
        return []
    order = list(templates)
    random.Random(seed).shuffle(order)  # seeded: a replayed turn ranks the same way
    plain: list[Option] = []
    personal: list[Option] = []
    first_source = source
    for template in order:
        text = texts.get(template)
        if text is None:
            continue
        personalised = NAME_SLOT in template_fields(template)
        kind = "personalised" if personalised else source
        if text == first:
            first_source = kind
        elif text != last_reply:
            (personal if personalised else plain).append(Option(text, kind))
    options = [Option(first, first_source), *plain, *personal]
    # A name that passed alone could still combine into something the guard refuses.
    return _unique([o for o in options if o.source != "personalised" or not guard.check(o.text)])


def numbered(text: str, n: int) -> str:
    """A canned line that cannot repeat: the line with a running number."""
    return f"{text} ({n})"


def choose(
    window: TextWindow,
    session: Session,
    options: list[Option],
    start: int = 0,
    later: Sequence[list[Option] | None] = (),
) -> tuple[int, list[Option]] | None:
    """The first option from ``start`` on that ``window`` lets through, and the options list.

    When all are taken, each of the ``later`` tiers is appended and tried in turn, and finally
    numbered canned lines, which always get through. The numbered ones ride along with the last
    tier's look-up, so a turn costs one query. None: the options before a tier that is None
    (not made yet: it needs a model, which must not run in the transaction) are all taken.
    """
    options, tiers = list(options), list(later)
    n = 0
    while True:
        tail: list[Option] = []
        if not tiers:
            base = next((o.text for o in options if o.source == "canned"), options[-1].text)
            n = n or _next_number.get(base, 2)
            tail = [Option(numbered(base, k), "numbered") for k in range(n, n + _NUMBERED_BATCH)]
        found = window.first_free(session, [o.text for o in (*options[start:], *tail)])
        if found is not None and start + found < len(options):
            return start + found, options
        if found is not None:
            pick = tail[start + found - len(options)]
            _next_number[base] = n + start + found - len(options) + 1
            return len(options), [*options, pick]
        if tiers:
            tier = tiers.pop(0)
            if tier is None:
                return None
            start = len(options)
            options = _unique([*options, *tier])
        else:
            start, n = len(options), n + _NUMBERED_BATCH


def generator_options(generator: Any, context: Any) -> list[Option]:
    """Guarded generator replies, best first: every candidate that fits and passes the guard
    where the generator ranks them (``Seq2SeqReplyGenerator.ranked``), else its one ``reply``."""
    ranked_replies = getattr(generator, "ranked", None)
    if ranked_replies is None:
        text = generator.reply(context).text
        return [Option(text, "generated")] if text else []
    return [Option(text, "generated") for text in ranked_replies(context)]


def _unique(options: list[Option]) -> list[Option]:
    seen: set[str] = set()
    out = []
    for option in options:
        if option.text not in seen:
            seen.add(option.text)
            out.append(option)
    return out
