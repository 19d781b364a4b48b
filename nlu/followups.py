"""Follow-ups: messages that only make sense after the thread's last turn.

"where is it used?", "example?", "why so many layers?", "any name ideas?" say nothing on their
own; read after "what is computer vision?" or "I just adopted a puppy" they ask about the
thread's subject. :func:`read_form` sees the form of such a message (a few regexes, some
microseconds, no model): which of the :data:`KINDS` it asks, if any, and what in it points back
(a pronoun, an elliptic request, words of the bot's last reply). The agent binds the form to
the thread's subject (agent/core/pipeline.py): a script answer for that subject and kind, or,
for an everyday subject, the fallback with :func:`resolved` text ("any name ideas for my
puppy?").

Rules, not the intent classifier, because the form is closed-class (question words, pronouns,
a dozen request shapes) while the classifier learns what a message is about: trained on
follow-ups, it would learn "it" as a topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.chars import INVISIBLE, SURROGATE

# What a follow-up can ask about the thread's subject; a script answers each per subject
# (dialogue.yml `follow_ups`, docs/dialogue.md).
KINDS = ("more", "example", "why", "how", "uses")
# A follow-up is short: a long message brings its own subject.
MAX_WORDS = 12
# A word of the message counts as the last reply's when their first letters agree this far
# ("labels" ~ "labelled", "layers" ~ "layer").
STEM = 5

_LEAD = re.compile(
    r"^(?:(?:and|but|so|ok|okay|oh|well|right|hmm+|wow|interesting|cool)\b[,.!]*\s*)+"
)
_KIND_FORMS = (
    ("example", r"\b(?:examples?|for instance|like what|such as)\b"),
    (
        "uses",
        r"\bused\b|\buses?\b\W*$|\bapplications?\b|\bwhat about in\b"
        r"|\bwhat (?:is|are|'s) (?:it|they|that|this) (?:good |useful )?for\b"
        r"|\bin (?:real|everyday|daily) life\b",
    ),
    ("why", r"^why\b|^how come\b"),
    ("how", r"^how\b(?! (?:long|much|many|often|old|far|are you|about|was|is your))"),
    (
        "more",
        r"^(?:tell me more|more|go on|say more|keep going|what else|explain\b"
        r"|what does (?:it|that|this|\w+) mean|in what way|like how|meaning)\b",
    ),
)
_KINDS = tuple((kind, re.compile(form)) for kind, form in _KIND_FORMS)
# Words that point back at what was just said. Not "this" ("this morning") nor the "it" of
# "it's raining"; "that" and "those" only in a question ("is that art?", not "that is cool").
_POINTERS = re.compile(r"\b(?:it|its|they|them|their|one|there)\b|^(?:what|how) about\b")
_QUESTION_POINTERS = re.compile(r"\b(?:that|those)\b")
_DUMMY_IT = re.compile(r"^it(?:'s| is| was| has been)\b")
_QUESTION = re.compile(
    r"\?\s*$|^(?:what|where|how|why|when|who|which|is|are|do|does|can|could|would|will|should)\b"
)
# Requests that leave their object out: "any tips?", "what should I bring?", "should I be
# worried?", "how long until I'm any good?".
_ELLIPTIC = re.compile(
    r"^(?:(?:got |have you got |do you have )?any\b"
    r"|(?:what|where|how|when|which|who|should|shall|can|could|would|will|do|is)\b[\w' ]*\bi\b)"
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Too common to tie a message to the last reply.
_COMMON = frozenset(
    {
        "about",
        "after",
        "again",
        "being",
        "could",
        "does",
        "doing",
        "going",
        "have",
        "just",
        "know",
        "like",
        "make",
        "many",
        "more",
        "most",
        "much",
        "only",
        "other",
        "really",
        "should",
        "some",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "thing",
        "think",
        "this",
        "those",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "your",
        "yours",
    }
)


@dataclass(frozen=True)
class Form:
    """How a message may follow up on its thread.

    ``kind``: which of :data:`KINDS` it asks, else None; ``question``: it asks something
    (rather than adding to the thread: "I'm kind of nervous about it"); ``points_back``: a
    pronoun stands for something said before ("should I report it?"); ``elliptic``: a request
    leaves its object out ("any tips?"); ``bare``: nothing but the asking ("why?", "can you
    give an example?"); ``stems``: its content words' stems, to tie it to the last reply ("why
    so many layers?" after "layers of simple units").
    """

    kind: str | None
    question: bool
    points_back: bool
    elliptic: bool
    bare: bool
    stems: frozenset[str]

    @property
    def needs_subject(self) -> bool:
        """Whether the message says nothing without the thread's subject."""
        return self.points_back or self.elliptic or self.bare

    def ties_to(self, last_reply: str | None) -> bool:
        """Whether it shares a content word with ``last_reply`` ("why so many layers?")."""
        return bool(self.stems & _stems(last_reply or ""))

    def asks_about(self, last_reply: str | None) -> bool:
        """Whether the message asks its ``kind`` of what was just said: it points back, is
        bare, or ties to ``last_reply`` (an elliptic "how do I start?" asks about the
        person's own plans, not the subject's workings)."""
        return self.kind is not None and (self.points_back or self.bare or self.ties_to(last_reply))


def _clean(text: str) -> str:
    text = SURROGATE.sub("", INVISIBLE.sub("", text)).replace("\u2019", "'").lower().strip()
    return _LEAD.sub("", text)


def _stems(text: str) -> frozenset[str]:
    return frozenset(
        w[:STEM] for w in _WORD.findall(text.lower()) if len(w) > 3 and w not in _COMMON
    )


# The words of the asking itself: "can you give an example?" is as bare as "example?".
_ASKING = _stems("example instance explain tell give show work mean used uses please")


def read_form(text: str) -> Form | None:
    """The follow-up form of ``text``, or None when it reads as a message of its own (long,
    or with nothing that asks a follow-up or points back)."""
    clean = _clean(text[: MAX_WORDS * 20])
    words = _WORD.findall(clean)
    if not words or len(words) > MAX_WORDS:
        return None
    kind = next((k for k, form in _KINDS if form.search(clean)), None)
    question = bool(_QUESTION.search(clean))
    pronouns = _DUMMY_IT.sub("", clean) if not question else clean
    points_back = bool(
        _POINTERS.search(pronouns) or (question and _QUESTION_POINTERS.search(pronouns))
    )
    elliptic = bool(_ELLIPTIC.search(clean))
    if kind is None and not points_back and not elliptic:
        return None
    stems = _stems(clean)
    # "what about in medicine?" names where, not what: the thread's subject is still asked about.
    bare = kind is not None and (stems <= _ASKING or clean.startswith("what about in "))
    return Form(kind, question, points_back, elliptic, bare, stems)


def resolved(text: str, subject: str) -> str:
    """``text`` made to stand alone with the thread's ``subject`` (as the bot says it back:
    "your puppy"), in the user's voice, for the fallback's retrieval, ranking and
    acknowledgements: "should I report it?" -> "should I report my bike?", "any tips?" ->
    "any tips about my chemistry exam?"."""
    own = re.sub(r"\byour\b", "my", subject, flags=re.IGNORECASE)
    body = text.strip()
    pointer = re.search(r"\b(?:it|them|that|this|one)\b(?!')", body, flags=re.IGNORECASE)
    if pointer is not None:
        return body[: pointer.start()] + own + body[pointer.end() :]
    stripped = body.rstrip("?!. ")
    return f"{stripped} about {own}{body[len(stripped) :]}"
