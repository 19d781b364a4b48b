"""Spoofing text in the console: isolated, with invisible characters shown; exports stay raw."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy.orm import Session

from tests.web.conftest import AdminActions, add_turn
from web.reveal import reveal, reveal_plain

RLO, ZWJ = "\u202e", "\u200d"
# Shown raw, "invoice<RLO>gpj.exe" reads "invoiceexe.jpg"; "ad<ZWJ>min" reads "admin".
SPOOF_TEXT = f"send invoice{RLO}gpj.exe <b>now</b>"
SPOOF_HANDLE = f"ad{ZWJ}min"
FAMILY = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain words", "<bdi>plain words</bdi>"),
        ("<i>x</i> & y", "<bdi>&lt;i&gt;x&lt;/i&gt; &amp; y</bdi>"),
        (
            f"a{RLO}b",
            '<bdi>a<span class="hidden-char" role="img" title="U+202E RIGHT-TO-LEFT OVERRIDE" '
            'aria-label="U+202E RIGHT-TO-LEFT OVERRIDE">\u25cc</span>b</bdi>',
        ),
        # An emoji sequence keeps its joiners; they draw one picture, nothing hides there.
        (FAMILY, f"<bdi>{FAMILY}</bdi>"),
        (None, ""),
    ],
)  # fmt: skip
def test_reveal_escapes_isolates_and_marks(text: str | None, html: str) -> None:
    assert str(reveal(text)) == html


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u202a", "LEFT-TO-RIGHT EMBEDDING"),
        ("\u202d", "LEFT-TO-RIGHT OVERRIDE"),
        ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
        ("\u2069", "POP DIRECTIONAL ISOLATE"),
        ("\u200b", "ZERO WIDTH SPACE"),
        ("\u200f", "RIGHT-TO-LEFT MARK"),
        ("\u2060", "WORD JOINER"),
        ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
        ("\u00ad", "SOFT HYPHEN"),
        ("\u3164", "HANGUL FILLER"),
        ("\U000e0041", "TAG LATIN CAPITAL LETTER A"),
        ("\x1b", ""),
    ],
)
def test_every_bidi_control_and_invisible_character_gets_a_marker(char: str, name: str) -> None:
    shown = str(reveal(f"x{char}y"))
    assert char not in shown
    assert f'title="{f"U+{ord(char):04X} {name}".rstrip()}"' in shown
    assert reveal_plain(f"x{char}y") == f"x<U+{ord(char):04X}>y"


def _seed(db: Session) -> int:
    turn = add_turn(db, "u1", SPOOF_TEXT, handle=SPOOF_HANDLE, tier="canned", trusted=False)
    db.commit()
    return turn.conversation_id


@pytest.mark.parametrize(
    "url",
    ["/admin/conversations", "/admin/conversations/{cid}", "/admin/review", "/admin/turns"],
)
def test_console_pages_isolate_user_text_and_show_hidden_characters(
    admin: AdminActions, db: Session, url: str
) -> None:
    page = admin.client.get(url.format(cid=_seed(db)))
    assert page.status_code == 200
    assert RLO not in page.text and ZWJ not in page.text  # nothing can reorder or hide
    assert 'title="U+202E RIGHT-TO-LEFT OVERRIDE"' in page.text
    assert (
        '<bdi>ad<span class="hidden-char" role="img" title="U+200D ZERO WIDTH JOINER"' in page.text
    )
    assert (
        "<bdi>send invoice<span" in page.text
        and "gpj.exe &lt;b&gt;now&lt;/b&gt;</bdi>" in page.text
    )


def test_thread_title_names_hidden_characters(admin: AdminActions, db: Session) -> None:
    page = admin.client.get(f"/admin/conversations/{_seed(db)}")
    assert "<title>ad&lt;U+200D&gt;min · threadbot</title>" in page.text


def test_exports_keep_the_raw_text(admin: AdminActions, db: Session) -> None:
    _seed(db)
    (row,) = csv.DictReader(io.StringIO(admin.client.get("/admin/turns/export.csv").text))
    (record,) = [
        json.loads(x) for x in admin.client.get("/admin/turns/export.jsonl").text.splitlines()
    ]
    assert row["user_text"] == record["user_text"] == SPOOF_TEXT
    assert row["handle"] == record["handle"] == SPOOF_HANDLE
