"""Read a reviewer's filter and page number from the query string, forgiving bad values."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from web.review.filters import BANDS, TIERS, TurnFilter

MAX_TEXT = 200


def parse_filter(
    args: MultiDict[str, str], *, review: bool = False
) -> tuple[TurnFilter, list[str]]:
    """The filter in ``args`` and a message for each value that was ignored."""
    problems: list[str] = []

    def text(name: str) -> str:
        return args.get(name, "").strip()[:MAX_TEXT]

    def day(name: str) -> date | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(f"ignored {name}={raw!r}: use a date like 2026-01-31")
            return None

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        raw = text(name)
        if raw and raw not in allowed:
            problems.append(f"ignored {name}={raw!r}: use one of {', '.join(allowed)}")
            return ""
        return raw

    where = TurnFilter(
        q=text("q"),
        user=text("user"),
        channel=text("channel"),
        intent=text("intent"),
        state=text("state"),
        tier=choice("tier", TIERS),
        band=choice("band", tuple(BANDS)),
        date_from=day("date_from"),
        date_to=day("date_to"),
        review=review or args.get("review") == "1",
        annotated=choice("annotated", ("yes", "no", "approved")),
    )
    return where, problems


def whole_number(raw: str) -> int | None:
    """``raw`` as an int when it is 1 to 18 ASCII digits, else None.

    ``str.isdigit`` alone lets through "²" (which ``int`` refuses) and numbers too big for
    any database integer.
    """
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def page_number(args: MultiDict[str, str]) -> int:
    """The 1-based page asked for; anything odd means page 1."""
    page = whole_number(args.get("page", "1"))
    return page if page is not None and 0 < page < 100_000 else 1
