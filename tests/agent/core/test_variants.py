"""Reply options: the {name} slot's sanitising, the fallback order, and choosing past a window."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import generator
from agent.channels.twitter.window import PostedTextWindow
from agent.core.variants import (
    NAME_MAX_CHARS,
    Option,
    choose,
    display_name,
    generator_options,
    numbered,
    ranked,
)
from generator import guard
from generator.service import Seq2SeqReplyGenerator
from generator.types import Generated, ReplyContext
from tests.agent.conftest import pending_reply
from tests.generator.conftest import corpus_file, tiny_model  # noqa: F401  (shared fixtures)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("Ada Lovelace", "ada"), "Ada Lovelace"),
        ((None, "grace_h"), "grace_h"),
        (("\u202eevil\u202c \u200bname\u2066", None), "evil name"),  # bidi and zero-width go
        (("@someone", None), "someone"),  # never a handle: the guard would refuse the reply
        (("x" * 200, None), "x" * NAME_MAX_CHARS),
        (("Jean-Luc " * 10, None), "Jean-Luc Jean-Luc Jean-Luc"),  # cut at a word
        (("\ud800lone surrogate", None), "\ud800lone surrogate"),
        (("fuck", "amy"), "amy"),  # the guard refuses the display name: the handle stands in
        (("📞 +1 415 555 0100", None), None),  # personal data
        (("\u200b\u200f", "  "), None),
        (("http://x.co/z", None), "http x.co z"),
    ],
)
def test_display_name_is_sanitised(names: tuple[str | None, ...], expected: str | None) -> None:
    assert display_name(*names) == expected


TEMPLATES = ("Hi!", "Hello there!", "Hey {name}!", "Good to see you, {name}.", "About {topic}?")


def test_an_options_json_holds_every_field_as_asdict_would() -> None:
    option = Option("Hi \u202ethere", "template")  # written by hand for speed
    assert option.as_json() == asdict(option)


def test_ranked_puts_other_templates_before_personalised_ones() -> None:
    options = ranked(TEMPLATES, {}, last_reply="Hello there!", seed="1:1", name="Ada")
    sources = [o.source for o in options]
    assert sources[1:] == sorted(sources[1:], key=lambda s: s == "personalised")
    texts = [o.text for o in options]
    assert "Hello there!" not in texts  # the reply this user just got
    assert "About {topic}?" not in texts and not any("{" in t for t in texts)  # slot empty
    assert {"Hey Ada!", "Good to see you, Ada."} <= set(texts)
    assert ranked(TEMPLATES, {}, None, "1:1", "Ada") == ranked(TEMPLATES, {}, None, "1:1", "Ada")


def test_ranked_without_a_name_skips_personalised_templates() -> None:
    options = ranked(TEMPLATES, {"topic": "robots"}, None, "2:5", None)
    assert {o.text for o in options} == {"Hi!", "Hello there!", "About robots?"}
    assert ranked(("Hey {name}!",), {}, None, "2:5", None) == []


def test_choose_skips_taken_texts_then_tries_later_tiers_then_numbers(engine: Engine) -> None:
    window = PostedTextWindow("bot", hours=24)
    options = [Option("Hi!", "template"), Option("Hey Ada!", "personalised")]
    canned = [Option("Hmm.", "canned")]
    with Session(engine) as session, session.begin():
        assert choose(window, session, options, later=[canned]) == (0, options)
        pending_reply(session, "  HI!")  # same text once normalised
        assert choose(window, session, options)[0] == 1
        pending_reply(session, "@ada hey ada!")
        index, extended = choose(window, session, options, later=[canned])
        assert extended[index] == canned[0]
        pending_reply(session, "hmm.")
        index, extended = choose(window, session, options, later=[canned])
        last = extended[index]
        assert last.source == "numbered" and last.text.startswith("Hmm. (")
        pending_reply(session, last.text)
        index, extended = choose(window, session, options, later=[canned])
        assert extended[index].source == "numbered" and extended[index].text != last.text
    assert numbered("Hmm.", 2) == "Hmm. (2)"


def test_choose_stops_at_a_tier_not_made_yet(engine: Engine) -> None:
    """The generator's options are made outside the transaction: choose says it needs them."""
    window = PostedTextWindow("bot", hours=24)
    options = [Option("Hi!", "template")]
    canned = [Option("Hmm.", "canned")]
    with Session(engine) as session, session.begin():
        assert choose(window, session, options, later=[None, canned]) == (0, options)
        pending_reply(session, "hi!")
        assert choose(window, session, options, later=[None, canned]) is None
        generated = [Option("Robots!", "generated")]
        assert choose(window, session, options, later=[generated, canned]) == (
            1,
            [*options, *generated],
        )


def test_generator_options_are_the_guarded_beam_candidates(
    tiny_model: Path,  # noqa: F811
) -> None:
    replier = generator.load(tiny_model, beam_size=4, max_tokens=10)
    context = ReplyContext(history=("hello there",), max_chars=40)
    options = generator_options(replier, context)
    candidates = replier.candidates([context])[0]
    assert options and len(options) <= len(candidates)
    assert all(o.source == "generated" and 0 < len(o.text) <= 40 for o in options)
    assert all(guard.check(o.text) is None for o in options)
    # A generator with only ``reply`` (the ReplyGenerator protocol) gives its one reply.
    assert generator_options(_OnlyReply(replier), context) == options[:1]


class _OnlyReply:
    """The real generator seen through the narrow protocol the agent requires."""

    def __init__(self, inner: Seq2SeqReplyGenerator) -> None:
        self.inner, self.version = inner, inner.version

    def reply(self, context: ReplyContext) -> Generated:
        return self.inner.reply(context)
