"""``users forget``: delete a person's turns and keep them out of every future snapshot.

A model's reply index (index.sqlite) holds only corpus text (chitchat, and collected corpora
the operator allowed to be reused); no bot turn, reviewed or not, is ever indexed, so there is
nothing of a user's to remove there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import InboxMention, OutboxReply
from agent.storage.models import Conversation, Turn, User

TWITTER = "twitter"


def find_users(session: Session, handle: str) -> list[User]:
    """Users on any channel with this handle or user id, ignoring case and a leading @.

    Web and terminal users have no handle, only the id they chat under, so both are matched.
    """
    wanted = handle.strip().lstrip("@").lower()
    return list(
        session.scalars(
            select(User).where(
                or_(func.lower(User.handle) == wanted, func.lower(User.external_id) == wanted)
            )
        )
    )


def forget(session: Session, users: list[User]) -> tuple[int, int, list[int]]:
    """Delete the users' turns (annotations cascade) and Twitter rows; opt them out.

    The user row stays, opted out and without a handle: it is what keeps the person silent
    and out of training if they write again. Returns (turns, mentions, deleted turn ids).
    """
    turn_ids: list[int] = []
    mentions = 0
    for user in users:
        conv = session.scalar(select(Conversation).where(Conversation.user_id == user.id))
        if conv is not None:
            ids = list(session.scalars(select(Turn.id).where(Turn.conversation_id == conv.id)))
            turn_ids += ids
            session.execute(delete(Turn).where(Turn.conversation_id == conv.id))
            conv.slots, conv.last_reply = {}, None
        if user.channel == TWITTER:
            for model in (InboxMention, OutboxReply):
                found = session.execute(delete(model).where(model.author_id == user.external_id))
                mentions += found.rowcount or 0
        user.opted_out = True
        user.handle = None
    session.flush()
    return len(turn_ids), mentions, turn_ids


def drop_snapshots(snapshots: Path, turn_ids: list[int]) -> int:
    """Delete snapshot folders that hold any of ``turn_ids``; returns how many."""
    if not turn_ids or not snapshots.is_dir():
        return 0
    gone = set(turn_ids)
    dropped = 0
    for manifest in sorted(snapshots.glob("*/manifest.json")):
        info = json.loads(manifest.read_text())
        used = set(info.get("reviewed_train_turns", [])) | set(
            info.get("reviewed_heldout_turns", [])
        )
        if used & gone:
            shutil.rmtree(manifest.parent)
            dropped += 1
    return dropped
