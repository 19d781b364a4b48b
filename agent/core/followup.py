"""Binding a follow-up to its thread: what "where is it used?" or "any tips?" is about.

The conversation keeps the thread's subject (``Conversation.subject``): the AI topic a message
last named, or the key phrase of the last everyday message the fallback answered ("your
puppy"). A message whose form is a follow-up (nlu/followups.py) binds to it:

- ``script``: the subject is a topic with an answer of the kind asked: the script's follow-up
  answers it, whatever intent the classifier saw in "can you give an example?";
- ``thread``: the message needs the subject to mean anything; if the fallback answers, it reads
  the message made to stand alone ("should I report my bike?"). After an everyday subject the
  script's intents make no sense for such a message ("any tips?" is not a request for help with
  the bot), so the agent does not trust them;
- ``asked``: a follow-up of a kind with nothing before it to be about: the bot asks which topic
  is meant instead of guessing.

A message that names a subject of its own ("what about robotics?") is no follow-up here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from agent.core.script import FollowUps
from nlu.followups import Form, resolved

Answer = Literal["script", "thread", "asked"]
# The subject of a thread that moved on to something with no phrase to name it by: a
# follow-up then is read on its own (the LSTM still sees the earlier turns).
UNNAMED = ""


@dataclass(frozen=True)
class Binding:
    """How one message was read as a follow-up (kept on its turn, shown in the console)."""

    kind: str | None  # which of nlu.followups.KINDS it asks, if any
    subject: str | None  # what it was bound to; None when there was nothing
    answer: Answer
    read_as: str | None = None  # the message made to stand alone, for the fallback
    question: bool = False  # it asks something, rather than adds to the thread

    def as_json(self) -> dict[str, Any]:
        found = {"kind": self.kind, "subject": self.subject, "answer": self.answer}
        return found | ({"read_as": self.read_as} if self.read_as else {})


def bind(
    text: str,
    form: Form | None,
    subject: str | None,
    last_reply: str | None,
    follow_ups: FollowUps | None,
    names_own_subject: bool,
) -> Binding | None:
    """How ``text`` (of ``form``) follows up on a thread about ``subject`` whose last reply
    was ``last_reply``; None when it is a message of its own."""
    if form is None or names_own_subject or subject == UNNAMED:
        return None
    answered = follow_ups is not None and follow_ups.answer(subject, form.kind) is not None
    if answered and form.asks_about(last_reply):
        return Binding(form.kind, subject, "script")
    if subject is None:
        if form.kind is not None and (form.points_back or form.bare) and follow_ups is not None:
            return Binding(form.kind, None, "asked")
        return None
    # An intent's answer is no phrase to put in the message's place.
    if form.needs_subject and (follow_ups is None or subject not in follow_ups.intents):
        return Binding(form.kind, subject, "thread", resolved(text, subject), form.question)
    return None


def is_topic(follow_ups: FollowUps | None, subject: str | None) -> bool:
    """Whether ``subject`` is one the script answers follow-ups about (an AI topic), rather
    than an everyday phrase."""
    return follow_ups is not None and subject in follow_ups.answers
