"""X's duplicate-content rule: which reply texts the account already used within the window.

X refuses a post whose text repeats one of the account's recent posts. Reply texts are compared
the way the rule (as far as X documents it) and the sandbox compare them: see ``normalise``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from agent.channels.twitter.models import PENDING, POSTED, OutboxReply
from nlu.chars import INVISIBLE

_LEADING_HANDLES = re.compile(r"^(?:@\w+\s*)+")
_SPACES = re.compile(r"\s+")


def normalise(value: str) -> str:
    """The text as the rule sees it: NFC, invisible characters dropped, case-folded, spaces
    collapsed, and the leading @handles (X's reply prefix) removed."""
    value = INVISIBLE.sub("", unicodedata.normalize("NFC", value)).casefold()
    value = _SPACES.sub(" ", value).strip()
    return _LEADING_HANDLES.sub("", value).strip()


@lru_cache(maxsize=8192)  # the same few template and canned texts come back turn after turn
def text_key(value: str) -> str:
    """A fixed-size key of the normalised text, indexed on the outbox."""
    # surrogatepass: a lone surrogate in a generated reply must not crash the key.
    return hashlib.sha256(normalise(value).encode("utf-8", "surrogatepass")).hexdigest()


def _lock_number(key: str) -> int:
    return int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)


class PostedTextWindow:
    """Texts the account posted in the last ``hours``, or has waiting in the outbox."""

    def __init__(self, account_id: str, hours: float) -> None:
        self.account_id = account_id
        self.window = timedelta(hours=hours)

    def taken(self, session: Session, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are in use: pending anywhere, or posted within the window."""
        cutoff = datetime.now(UTC) - self.window
        return set(
            session.scalars(
                select(OutboxReply.text_key).where(
                    OutboxReply.account_id == self.account_id,
                    OutboxReply.text_key.in_(set(keys)),
                    or_(
                        OutboxReply.status == PENDING,
                        and_(OutboxReply.status == POSTED, OutboxReply.posted_at > cutoff),
                    ),
                )
            )
        )

    def first_free(self, session: Session, texts: Sequence[str]) -> int | None:
        """The index of the first text not in use, reserved until this transaction ends."""
        keys = [text_key(t) for t in texts]
        taken = self.taken(session, keys)
        postgres = session.get_bind().dialect.name == "postgresql"
        for index, key in enumerate(keys):
            if key in taken or key in keys[:index]:
                continue
            if postgres:
                # Two workers' turns could both find a text free; the lock makes the second
                # wait for the first to commit, and its re-check then sees the first's row.
                # (On SQLite the agent's writer lock already serialises turns.)
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_number(key)})
                if self.taken(session, [key]):
                    continue
            return index
        return None
