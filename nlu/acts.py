"""The dialogue act, sentiment and key phrase of a chat message.

An acknowledgement that shows the bot heard the message ("Oh no, sorry about your sandwich")
needs to know what kind of message it is and what it is about: "my dog just stole my sandwich"
is bad news about "your sandwich". Rules over the hand-written word lists of
:mod:`nlu.lexicon` do it in a few dozen microseconds, with no model to download: a message is
cut into sentences, each gets an act, and the act that matters most wins (news over a question
over an opinion). The key phrase is the noun phrase the sentence is about (its object, else its
subject), with pronouns turned round for the bot to say back.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from nlu import lexicon as lx
from nlu.chars import INVISIBLE_CHARS, SURROGATE_CHARS

# Most important first: when a message's sentences disagree, the first act here wins.
ACTS = (
    "good_news", "bad_news", "question_about_bot", "complaint", "plan", "news", "opinion",
    "question", "other",
)  # fmt: skip
SENTIMENTS = ("positive", "negative", "neutral")
# Enough for a tweet; a cap keeps a hostile 10,000-character message as cheap as any other.
MAX_CHARS = 500
# A longer "noun phrase" is the chunker losing its way, not something to say back.
MAX_PHRASE_WORDS = 4
# In a longer sentence the chunker loses its way ("its like one solid"): no phrase is said back
# from it, and only the templates that need none are used.
MAX_SENTENCE_WORDS = 14

# Acts read words, so they drop more than the invisible characters: Hangul fillers, the
# deprecated format controls after U+2069, lone surrogates and tag characters.
_INVISIBLE = re.compile(
    f"[{INVISIBLE_CHARS}{SURROGATE_CHARS}\u115f\u1160\u206a-\u206f\u3164\U000e0000-\U000e007f]"
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")  # links, handles, hashtags
_TOKEN = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")
_SENTENCE_ENDS = {".", "!", "?", ";"}
# Longest first, so "i'm" turns whole rather than as "i" + "'m".
_TURN_ROUND = re.compile(
    r"\b(?:" + "|".join(sorted(lx.TURN_ROUND, key=len, reverse=True)) + r")\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Act:
    """What a message does (``act``, one of :data:`ACTS`), its ``sentiment`` (one of
    :data:`SENTIMENTS`) and its key ``phrase`` as the bot would say it back, or None."""

    act: str
    sentiment: str
    phrase: str | None = None


@dataclass
class _Sentence:
    words: list[str] = field(default_factory=list)  # as written: names keep their capitals
    low: list[str] = field(default_factory=list)
    asked: bool = False  # ended with a question mark


def analyse(text: str) -> Act:
    """The act, sentiment and key phrase of ``text`` (any string, hostile ones included)."""
    sentences = _sentences(text)
    sentiment = _sentiment([w for s in sentences for w in s.low])
    best = min((_read(s) for s in sentences), key=lambda found: ACTS.index(found[0]), default=None)
    return Act(best[0], sentiment, best[1]) if best else Act("other", sentiment)


def turn_round(text: str) -> str:
    """``text`` as the other person would say it: "my dog" -> "your dog", "I am" -> "you are".

    Only the first person turns: a phrase the bot says back never holds "you".
    """
    return _TURN_ROUND.sub(_turned, text)


def _turned(match: re.Match[str]) -> str:
    said = lx.TURN_ROUND[match[0].lower()]
    return said.capitalize() if match.start() == 0 and match[0][0].isupper() else said


def _sentences(text: str) -> list[_Sentence]:
    text = _NOT_WORDS.sub(" , ", _CONTROL.sub(" ", _INVISIBLE.sub("", text[:MAX_CHARS])))
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'")
    if text.isupper():  # shouting: the capitals say nothing about names
        text = text.lower()
    sentences, current = [], _Sentence()
    for token in _TOKEN.findall(text):
        low = token.lower()
        if low in _SENTENCE_ENDS:
            if current.low:
                sentences.append(current)
                current = _Sentence()
            if sentences:  # "!?" after a sentence: the "?" still makes it a question
                sentences[-1].asked |= low == "?"
            continue
        expanded = lx.CONTRACTIONS.get(low) or (low[:-3] + " not" if low.endswith("n't") else "")
        if expanded:
            current.words += expanded.split()
            current.low += expanded.split()
        else:
            # A capital that starts a sentence says nothing; an acronym ("AI") keeps its own.
            first = not current.words and not (token.isupper() and len(token) > 1)
            current.words.append(low if first else token)
            current.low.append(low)
    if current.low:
        sentences.append(current)
    return sentences


def _sentiment(low: list[str]) -> str:
    score = 0
    for i, word in enumerate(low):
        value = (word in lx.POSITIVE) - (word in lx.NEGATIVE)
        if value and lx.NEGATORS.intersection(low[max(0, i - 3) : i]):
            value = -value  # "not bad"
        score += value
    return SENTIMENTS[0] if score > 0 else SENTIMENTS[1] if score < 0 else SENTIMENTS[2]


def _read(s: _Sentence) -> tuple[str, str | None]:
    """One sentence's act and key phrase."""
    if _asked(s.low, s.asked):
        act = "question_about_bot" if _about_bot(s.low) else "question"
    else:
        act = _statement(s.low)
    if len(s.low) > MAX_SENTENCE_WORDS:
        return act, None
    return act, _phrase(s, about_bot=act == "question_about_bot")


def _asked(low: list[str], mark: bool) -> bool:
    if mark or low[:2] == ["tell", "me"]:
        return True
    if low[0] in lx.QUESTION_WORDS:
        return low[1:2] not in (["a"], ["an"])  # "what a day" exclaims
    return low[0] in lx.AUXILIARIES and low[1:2] != [] and low[1] in lx.SUBJECT_PRONOUNS


def _about_bot(low: list[str]) -> bool:
    """A question about the bot itself ("do you like pizza?"), not a request ("can you help")."""
    for i, word in enumerate(low):
        if word in lx.SECOND_PERSON and (
            word != "you" or _next_word(low, i) not in lx.NOT_ABOUT_BOT
        ):
            return True
    return False


def _statement(low: list[str]) -> str:
    joined = f" {' '.join(low)} "
    subject = next((i for i, w in enumerate(low) if w in ("i", "we")), None)
    says = _next_word(low, -1 if subject is None else subject)  # the verb after "I"
    sentiment = _sentiment(low)
    planned = any(f" {p} " in joined for p in lx.PLAN_PHRASES) and not any(
        f" {p} " in joined for p in lx.NOT_PLAN_PHRASES
    )
    if not planned and any(f" {p} " in joined for p in lx.FUTURE_TIMES):
        planned = not any(_past(w) for w in low)
    # "gonna see a film" has no subject; "it is going to rain" is no plan of theirs.
    if planned and (
        subject is not None or any(joined.startswith(f" {p} ") for p in lx.PLAN_PHRASES)
    ):
        return "plan"
    if lx.COMPLAINT_WORDS.intersection(low) or any(
        f" {p} " in joined for p in lx.COMPLAINT_PHRASES
    ):
        return "complaint"
    if says in lx.OPINION_VERBS:
        return "opinion"
    if any(_past(w) for w in low) or lx.NEWS_STATES.intersection(low):
        if sentiment == "neutral" and lx.GOOD_EVENTS.intersection(low):
            return "good_news"  # "I adopted a cat"
        return {"positive": "good_news", "negative": "bad_news"}.get(sentiment, "news")
    if sentiment != "neutral" and subject is not None and says in lx.AUXILIARIES:  # "I'm so happy"
        return "good_news" if sentiment == "positive" else "bad_news"
    if sentiment != "neutral" or lx.OPINION_WORDS.intersection(low):
        return "opinion"
    return "other"


def _next_word(low: list[str], i: int) -> str | None:
    """The word after position ``i``, adverbs skipped: what follows a subject is its verb."""
    return next((w for w in low[i + 1 :] if w not in lx.ADVERBS), None)


def _previous_word(low: list[str], i: int) -> str | None:
    return next((w for w in reversed(low[:i]) if w not in lx.ADVERBS), None)


def _past(word: str) -> bool:
    regular = len(word) > 3 and word.endswith("ed") and word not in lx.NOT_PAST
    return regular or word in lx.IRREGULAR_PAST


def _verb(low: list[str], i: int) -> bool:
    """Whether the word at ``i`` is (probably) a verb, judged by its form and what precedes."""
    word, before = low[i], _previous_word(low, i)
    if word in lx.AUXILIARIES:
        return True
    after_subject = before in lx.SUBJECT_PRONOUNS
    if word.endswith("ing"):  # "I am going" is a verb; "I love swimming" a noun
        return after_subject or before in lx.AUXILIARIES
    if word in lx.VERB_FORMS or _past(word):
        return True
    following = low[i + 1] if i + 1 < len(low) else None
    plural_or_third = len(word) > 3 and word.endswith("s") and not word.endswith("ss")
    if plural_or_third and following in lx.OBJECT_OPENERS:  # "the weather affects your mood"
        return True
    return after_subject and word.isalpha() and word not in lx.FUNCTION_WORDS  # "I work"


def _noun_phrase(low: list[str], start: int, nested: bool = False) -> tuple[int, int]:
    """Where the noun phrase at ``start`` ends: its head's end and its own (after "of/to X");
    ``start`` twice when none starts there."""
    k = body = start + (low[start] in lx.DETERMINERS)
    # Right after "a", "my" or an adjective, a word that looks like a verb is a noun ("a run").
    loose = k > start
    while k < len(low) and k - start <= MAX_PHRASE_WORDS:
        word = low[k]
        if word in lx.FUNCTION_WORDS or word in lx.DETERMINERS or not word[0].isalnum():
            break
        if _past(word) or (not loose and _verb(low, k)) or (word in ("last", "next") and k > body):
            break  # "a film last night": the time is no part of the film
        loose = word in lx.ADJECTIVES or word.endswith("ing")
        k += 1
    if k == body:
        return start, start
    if not nested and k + 1 < len(low) and low[k] in ("of", "to"):  # "a trip to Japan"
        inner = _noun_phrase(low, k + 1, nested=True)[1]
        if inner > k + 1:
            return k, inner
    return k, k


def _spans(low: list[str]) -> list[tuple[int, int, int]]:
    """Every noun phrase: (start, head end, end)."""
    spans, i = [], 0
    while i < len(low):
        head, end = _noun_phrase(low, i) if not _verb(low, i) else (i, i)
        if end > i:
            spans.append((i, head, end))
        i = max(end, i + 1)
    return spans


def _usable(low: list[str], span: tuple[int, int, int], about_bot: bool) -> bool:
    start, head_end, end = span
    words = low[start:end]
    if about_bot and words[0] == "your":
        words = words[1:]
    head, first = low[head_end - 1], low[start]
    vague = head in lx.GENERIC_NOUNS or head in lx.ADJECTIVES or head in lx.NEGATIVE
    timely = head in lx.TIME_NOUNS and (first in lx.TIME_DETERMINERS or head_end - start == 1)
    # A contraction ("they'll") is a clause cut short, not a thing; a possessive 's is fine.
    cut = any("'" in w and not w.endswith("'s") for w in words)
    clean = lx.SECOND_PERSON.isdisjoint(words) and lx.NOT_IN_PHRASES.isdisjoint(words) and not cut
    return bool(words) and clean and not (vague or timely)


def _phrase(s: _Sentence, about_bot: bool) -> str | None:
    """The sentence's object, else its subject, as the bot says it back."""
    low = s.low
    verbs = [i for i in range(len(low)) if _verb(low, i)]
    verb = verbs[0] if verbs else len(low)
    spans = [sp for sp in _spans(low) if _usable(low, sp, about_bot)]
    subject = next((sp for sp in reversed(spans) if sp[2] <= verb), None)
    thing = next((sp for sp in spans if sp[0] > verb), None)
    if thing is None or (subject and low[verb] in lx.COPULAS):  # "pizza is the best food"
        thing = subject
    if thing is None:
        return None
    if about_bot:
        return turn_round(" ".join(_bare(s, thing)))
    # The verb the phrase is the object of: "I am planning a trip" -> "planning".
    governing = max((i for i in verbs if i < thing[0]), default=None)
    acquired = governing is not None and low[governing] in lx.ACQUIRING
    words = _said_back(s, thing, low[:verb], acquired)
    # "my dad got a new job" -> "your dad's new job"
    owned = subject and thing is not subject and low[subject[0]] in ("my", "our")
    if owned and acquired and low[thing[0]] in ("a", "an"):
        owner = " ".join(s.words[subject[0] : subject[2]])
        words = [owner + ("'" if owner.endswith("s") else "'s"), *words[1:]]
    return turn_round(" ".join(words))


def _bare(s: _Sentence, span: tuple[int, int, int]) -> list[str]:
    """Without its determiner: "I'm a bot, so no {dog} for me"."""
    start = span[0] + (s.low[span[0]] in lx.DETERMINERS)
    return s.words[start : span[2]]


def _said_back(
    s: _Sentence, span: tuple[int, int, int], before_verb: list[str], acquired: bool
) -> list[str]:
    """The phrase's words with its article chosen for saying back: "I won a prize" -> "your
    prize", "I saw a film" -> "the film", "this film" -> "that film", "some pizza" -> "pizza"."""
    words = s.words[span[0] : span[2]]
    article = s.low[span[0]]
    if article in ("a", "an"):
        mine = acquired and not {"i", "we"}.isdisjoint(before_verb)
        return ["your" if mine else "the", *words[1:]]
    if article in ("some", "any"):
        return words[1:]
    return [{"this": "that", "these": "those"}.get(article, words[0]), *words[1:]]
