"""Tweet cards: what is laid out (each line's text, font and place), not one machine's pixels."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from PIL import Image

from tests.hostile import FUZZ, HOSTILE
from web.reveal import hidden
from web.showcase import cards
from web.showcase.cards import Fonts, card_text, layout
from web.showcase.exchanges import BotIdentity, Exchange, Said

AT = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one picture: three emoji and two joiners
TWEET = (
    "Honest question for the AI crowd: when a model says it is 90% sure, how often is it "
    "right? I keep reading that calibration is the part nobody checks, and that most chat "
    "models are overconfident after fine-tuning. Is that true, and can a normal person tell? 🤔"
)
assert len(TWEET) <= 280
BIDI_CONTROLS = "\u202e\u2066\u202a"
ZERO_WIDTH = "\u200b\ufeff"
LONE_SURROGATE = "\ud800"


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return Fonts()


def exchange(*texts: str, handle: str | None = "@j•••") -> Exchange:
    """Messages alternating user, bot, user..."""
    said = tuple(Said(n % 2 == 1, text, AT) for n, text in enumerate(texts))
    return Exchange(
        7, 70, 3, "twitter", "generated", AT, AT, "alice", "Someone on X", handle,
        BotIdentity("Ada", "@ada_bot"), said,
    )  # fmt: skip


def within(card: cards.CardLayout) -> None:
    """Every run inside the card's margins."""
    width, height = card.size
    for run in card.runs:
        assert run.x >= cards.PAD - 0.5 and run.x + run.width <= width - cards.PAD + 0.5, run
        assert run.y + run.size * cards.LINE <= height - cards.PAD + run.size, run


@pytest.mark.parametrize("shape", list(cards.SHAPES))
def test_a_full_tweet_and_its_reply_fit_whole_on_both_shapes(fonts: Fonts, shape: str) -> None:
    reply = "Good question! Calibration is checked less often than accuracy, and you can test it."
    card = layout(exchange(TWEET, reply), shape, fonts)
    assert card.size == cards.SHAPES[shape]
    assert [m.clipped for m in card.messages] == [False, False]
    assert " ".join(card.messages[0].lines) == TWEET
    assert " ".join(card.messages[1].lines) == reply
    body = [r for r in card.runs if r.role != "bold" and r.colour == cards.INK]
    left = cards.PAD + cards.AVATAR + cards.GAP
    for line in card.messages[0].lines:
        assert fonts.width(cards.Piece(line), card.font_size) <= card.size[0] - left - cards.PAD
    assert min(r.x for r in body) == pytest.approx(left)
    within(card)
    assert card.font_size >= cards.MIN_SIZE


def test_emoji_go_to_the_emoji_font_whole_and_in_order(fonts: Fonts) -> None:
    text = f"my dog stole my sandwich 😂 {FAMILY} and ran 🐕‍🦺"
    card = layout(exchange(text, "Ha, that is one clever dog."), "wide", fonts)
    message = card.messages[0]
    assert " ".join(message.lines) == text  # the joiners inside the emoji are kept
    body = [r for r in card.runs if r.colour == cards.INK and r.role != "bold"]
    assert "".join(r.text for r in body).startswith("my dog stole my sandwich 😂 ")
    emoji_runs = [r.text for r in card.runs if r.role == "emoji"]
    if fonts.emoji_path is None:
        # No colour emoji font here: DejaVu draws what it has; the rest is reported.
        assert emoji_runs == []
        assert set(message.missing) <= set(text) and "😂" not in message.missing
    else:
        assert emoji_runs == ["😂", FAMILY, "🐕‍🦺"]
        assert message.missing == []


def test_right_to_left_text_is_right_aligned_and_placed_from_the_right(fonts: Fonts) -> None:
    hebrew = "שלום! מה שלומך היום? 👋 AI is fun"
    arabic = "مرحبا بك في عالم الذكاء الاصطناعي"
    card = layout(exchange(hebrew, arabic), "wide", fonts)
    assert [m.rtl for m in card.messages] == [True, True]
    assert card.messages[0].lines == [hebrew] and card.messages[1].lines == [arabic]
    right = card.size[0] - cards.PAD
    for message in (hebrew, arabic):
        line = [r for r in card.runs if r.rtl and message.startswith(r.text)]
        assert line and line[0].x + line[0].width == pytest.approx(right)
    # The Hebrew line's pieces run leftwards in logical order: the words, the emoji, "AI...".
    pieces = [r for r in card.runs if r.rtl and r.text in hebrew]
    assert [p.text for p in pieces][-1].strip() == "AI is fun"
    assert [p.x for p in pieces] == sorted((p.x for p in pieces), reverse=True)
    assert not card.messages[0].rtl or not cards.is_rtl("AI first, then עברית")


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src=x onerror="alert(1)"> </p><script>alert(1)</script>',
        f"{BIDI_CONTROLS}txt.exe{ZERO_WIDTH} admin{LONE_SURROGATE} ok",
        "a" * 280,  # one unbreakable word
        "\n\n\t  spaced\r\n out  ",
        "{{ 7*7 }} %s %(x)s \x00\x07",
    ],
)
def test_hostile_text_is_laid_out_as_text_and_never_breaks_the_card(
    fonts: Fonts, hostile: str
) -> None:
    card = layout(exchange(hostile, hostile), "square", fonts)
    shown = card_text(hostile)
    for message in card.messages:
        assert message.text == shown
        assert "".join(message.lines).replace(" ", "") == shown.replace(" ", "")
        for char in BIDI_CONTROLS + ZERO_WIDTH + LONE_SURROGATE + "\x00\x07":
            assert char not in "".join(message.lines)
    within(card)
    image = Image.open(io.BytesIO(cards.png(exchange(hostile, hostile), "square", fonts)))
    assert image.size == cards.SHAPES["square"]


def test_a_thread_too_long_for_the_card_leaves_out_its_oldest_messages(fonts: Fonts) -> None:
    texts = [f"{n}: {TWEET}" for n in range(8)]  # four turns: a star and three before it
    card = layout(exchange(*texts), "wide", fonts)
    assert card.skipped >= 1
    assert [m.text for m in card.messages] == texts[card.skipped :]
    assert not any(m.clipped for m in card.messages)
    plural = "s" if card.skipped > 1 else ""
    assert card.runs[0].text == f"⋯ {card.skipped} earlier message{plural}"
    within(card)


def test_a_message_longer_than_any_card_shows_is_cut_with_an_ellipsis(fonts: Fonts) -> None:
    card = layout(exchange("word " * 2000, "x" * 10_000), "wide", fonts)
    words, spam = card.messages
    assert len(words.text) == cards.MAX_CHARS and words.text.endswith(cards.ELLIPSIS)
    assert len(spam.text) == cards.MAX_CHARS  # one 10,000-character word: cut, then wrapped
    within(card)


def test_a_long_message_never_pushes_the_reply_off_the_card(fonts: Fonts) -> None:
    long = "so here is the thing about it " * 40
    for shape in cards.SHAPES:
        card = layout(exchange(long, "Short reply."), shape, fonts)
        assert card.messages[-1].lines == ["Short reply."], shape
        within(card)
    wide = ("WWWWWWW " * 125)[: cards.MAX_CHARS]  # broad letters: about 20 lines each
    card = layout(exchange(wide, wide), "wide", fonts)
    assert any(m.clipped for m in card.messages) and len(card.messages[1].lines) >= 2
    within(card)


def test_the_png_has_the_shape_and_is_not_blank_and_the_zip_holds_both_shapes(
    fonts: Fonts,
) -> None:
    ex = exchange("hello Ada 👋", "Hi! Ask me anything about AI.")
    for shape, size in cards.SHAPES.items():
        image = Image.open(io.BytesIO(cards.png(ex, shape, fonts))).convert("RGB")
        assert image.size == size
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 10
    archive = zipfile.ZipFile(io.BytesIO(cards.zipped(cards.all_cards([ex], fonts))))
    assert archive.namelist() == ["exchange-7-wide.png", "exchange-7-square.png"]


def test_a_name_and_handle_too_long_for_the_line_are_cut_at_the_edge(fonts: Fonts) -> None:
    ex = exchange("hi", "hello")
    long = Exchange(**{**ex.__dict__, "user_name": "W" * 120, "bot": BotIdentity("A" * 90)})
    card = layout(long, "square", fonts)
    within(card)


@FUZZ
@given(text=HOSTILE)
def test_any_hostile_text_lays_out_inside_the_card(fonts: Fonts, text: str) -> None:
    card = layout(exchange(text, text), "wide", fonts)
    within(card)
    for message in card.messages:
        assert all(not hidden(c) or c == "\u200d" for c in "".join(message.lines))
    cards.draw(card, fonts)


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f3fd" * 100,  # skin tones alone: each its own picture
        "flags " + "\U0001f1f3\U0001f1ec" * 40,  # a flag is two letters, never split
        "keycaps 1\ufe0f\u20e3 2\ufe0f\u20e3 " * 20,
        "\U0001f44b\U0001f3fd" * 60,  # a wave and its tone stay together
        "go \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f " * 30,
    ],
)
def test_emoji_sequences_are_never_split_across_lines(fonts: Fonts, text: str) -> None:
    card = layout(exchange("hi", text), "square", fonts)
    within(card)
    lines = card.messages[1].lines
    assert "".join(lines).replace(" ", "") == card_text(text).replace(" ", "")
    for line in lines:
        assert not line.startswith(("\ufe0f", "\u20e3", "\u200d", "\U000e0067"))
        flags = len(line) - len(line.lstrip("".join(map(chr, range(0x1F1E6, 0x1F200)))))
        assert flags % 2 == 0
    if fonts.emoji_path is not None and "keycaps" in text:
        assert any(r.role == "emoji" and r.text.startswith("1") for r in card.runs)


def test_an_emoji_font_is_used_at_a_size_it_takes_and_a_non_font_is_ignored(
    tmp_path: Path,
) -> None:
    outline = Fonts(Fonts().regular_path)  # an outline font takes any size
    assert outline.emoji_path == Fonts().regular_path and outline.emoji_pixels == 109
    junk = tmp_path / "emoji.ttf"
    junk.write_bytes(b"not a font")
    assert Fonts(junk).emoji_path is None
