"""The console's showcase: star and unstar exchanges, list them, download their cards."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from web.auth import back_from_form, guard
from web.db import get_session, runtime
from web.models import MAX_CONTEXT
from web.review.filters import page_number, parse_filter, whole_number
from web.review.queries import Page
from web.showcase import cards
from web.showcase.exchanges import ShowcaseError, count_starred, star, starred, unstar
from web.turn_forms import turn_action

bp = guard(Blueprint("showcase", __name__, url_prefix="/admin"))
# The turn cards' star form offers this many earlier turns.
bp.record_once(lambda state: state.app.jinja_env.globals.update(MAX_STAR_CONTEXT=MAX_CONTEXT))


@bp.post("/turns/<int:turn_id>/star")
def add_star(turn_id: int) -> Response:
    """Star one exchange, with up to three earlier turns of its thread (``context``)."""
    context = whole_number(request.form.get("context", "0"))
    return turn_action(
        turn_id,
        lambda: star(get_session(), turn_id, g.admin.id, -1 if context is None else context),
        ShowcaseError,
        "Not starred",
        f"Turn {turn_id} starred for the showcase.",
        "showcase.index",
    )


@bp.post("/turns/<int:turn_id>/unstar")
def remove_star(turn_id: int) -> Response:
    """Take one exchange out of the showcase."""
    removed = unstar(get_session(), turn_id)
    get_session().commit()
    flash(f"Turn {turn_id} unstarred." if removed else f"Turn {turn_id} was not starred.")
    return redirect(back_from_form(url_for("showcase.index")), code=303)


@bp.get("/showcase")
def index() -> str:
    """Starred exchanges with their cards, filtered by channel, tier and date."""
    where, problems = parse_filter(request.args)
    for problem in problems:
        flash(problem)
    session, size = get_session(), current_app.config["PAGE_SIZE"]
    number = page_number(request.args)
    found = starred(session, runtime().bot, where, page=((number - 1) * size, size))
    total = count_starred(session, where)
    page = Page(found, total, number, size, has_next=number * size < total)
    return render_template("admin/showcase.html", page=page, where=where, shapes=cards.SHAPES)


@bp.get("/showcase/<int:star_id>/card-<shape>.png")
def card(star_id: int, shape: str) -> Response:
    """One exchange's card as a PNG (``?download=1`` saves it as a file).

    :raise 404: no such star (or its user opted out), or no such shape.
    """
    if shape not in cards.SHAPES:
        abort(404, f"Cards come in these shapes: {', '.join(cards.SHAPES)}.")
    found = starred(get_session(), runtime().bot, star_id=star_id)
    if not found:
        abort(404, f"There is no starred exchange {star_id}.")
    headers = {"Cache-Control": "private, no-store"}
    if request.args.get("download") == "1":
        name = cards.card_name(found[0], shape)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(
        cards.png(found[0], shape, runtime().card_fonts), mimetype="image/png", headers=headers
    )


@bp.get("/showcase/cards.zip")
def all_cards() -> Response:
    """Every card of the exchanges matching the filter, both shapes, in one zip."""
    where, _ = parse_filter(request.args)
    found = starred(get_session(), runtime().bot, where)
    if not found:
        flash("No starred exchanges match, so there are no cards to download.")
        return redirect(url_for("showcase.index", **where.as_args()), code=303)  # type: ignore[return-value]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        cards.zipped(cards.all_cards(found, runtime().card_fonts)),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="threadbot-cards-{stamp}.zip"'},
    )
