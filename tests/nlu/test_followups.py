from __future__ import annotations

import pytest
from hypothesis import given

from nlu.followups import KINDS, read_form, resolved
from tests.hostile import FUZZ, HOSTILE, NASTY


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("where is it used?", "uses"),
        ("what is it used for?", "uses"),
        ("uses?", "uses"),
        ("what about in medicine?", "uses"),
        ("can you give an example?", "example"),
        ("example?", "example"),
        ("like what?", "example"),
        ("why?", "why"),
        ("why not?", "why"),
        ("and why is it so hard?", "why"),
        ("how come?", "why"),
        ("how does it work?", "how"),
        ("how do they learn?", "how"),
        ("tell me more", "more"),
        ("go on", "more"),
        ("what does attention mean there?", "more"),
    ],
)
def test_the_kind_a_follow_up_asks(text: str, kind: str) -> None:
    form = read_form(text)
    assert form is not None and form.kind == kind
    assert kind in KINDS


@pytest.mark.parametrize(
    "text",
    ["can you give an example?", "example?", "why not?", "tell me more", "what about in schools?"],
)
def test_bare_asking_needs_nothing_but_the_thread(text: str) -> None:
    form = read_form(text)
    assert form is not None and form.bare and form.needs_subject


@pytest.mark.parametrize(
    ("text", "points_back", "elliptic"),
    [
        ("should I report it?", True, True),
        ("would you ride in one?", True, False),
        ("is that art though?", True, False),
        ("they were winning until the last minute", True, False),
        ("any name ideas?", False, True),
        ("what should I bring?", False, True),
        ("how long until I'm any good?", False, True),
    ],
)
def test_what_points_back(text: str, points_back: bool, elliptic: bool) -> None:
    form = read_form(text)
    assert form is not None
    assert (form.points_back, form.elliptic) == (points_back, elliptic)
    assert form.kind is None or form.kind in KINDS


@pytest.mark.parametrize(
    "text",
    [
        "what is machine learning?",
        "hello",
        "I just adopted a puppy",
        "someone stole my bike this morning",  # "this morning" points at no earlier thing
        "it's been raining all weekend",  # nor does the "it" of the weather
        "that is cool",
        "are you a bot?",
        "stop",
        "I went to the market this morning and bought apples, pears, a melon and some bread",
    ],
)
def test_messages_of_their_own_are_no_follow_ups(text: str) -> None:
    assert read_form(text) is None


def test_a_kind_asks_about_the_last_reply_only_when_it_ties_to_it() -> None:
    layers = read_form("why so many layers?")
    assert layers is not None and layers.kind == "why"
    assert layers.asks_about("A neural network is layers of simple units.")
    assert not layers.asks_about("Robotics is about machines that act in the world.")
    start = read_form("how do I get started?")  # about the person's plans, not the subject
    assert start is not None and start.kind == "how" and not start.asks_about("Robots move.")


@pytest.mark.parametrize(
    ("text", "subject", "standing_alone"),
    [
        ("should I report it?", "your bike", "should I report my bike?"),
        (
            "how often should I water them?",
            "your tomato plants",
            "how often should I water my tomato plants?",
        ),
        ("would you ride in one?", "self-driving cars", "would you ride in self-driving cars?"),
        ("any tips?", "your chemistry exam", "any tips about my chemistry exam?"),
        ("what should I bring", "the hike", "what should I bring about the hike"),
    ],
)
def test_a_follow_up_made_to_stand_alone(text: str, subject: str, standing_alone: str) -> None:
    assert resolved(text, subject) == standing_alone


@FUZZ
@given(HOSTILE)
def test_hostile_text_is_read_without_error(text: str) -> None:
    form = read_form(text)
    assert form is None or form.kind is None or form.kind in KINDS
    assert isinstance(resolved(text, "your puppy"), str)


@pytest.mark.parametrize("piece", NASTY)
def test_a_hostile_piece_in_a_follow_up_breaks_nothing(piece: str) -> None:
    form = read_form(f"where is it used? {piece}")
    assert form is None or form.kind in (None, *KINDS)
    assert resolved(f"should I report it {piece}", "your bike").startswith(
        "should I report my bike"
    )


def test_zero_width_and_bidi_characters_do_not_hide_the_form() -> None:
    form = read_form("wh\u200bere is \u202eit\u202c used?")
    assert form is not None and form.kind == "uses"


@pytest.mark.parametrize("text", ["why " * 5000, "any " + "tips " * 3000 + "?"])
def test_a_long_message_is_a_message_of_its_own(text: str) -> None:
    assert read_form(text) is None  # only its first words are read, so it costs no more
