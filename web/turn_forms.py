"""A console form that acts on one turn, finished the one way: the action, then back where the
form came from with the turn's card in view; a 404 for a turn that does not exist; the
refusal flashed for one that cannot be done as asked."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, flash, redirect, url_for

from web.auth import back_from_form
from web.db import get_session
from web.review.queries import NoSuchTurnError


def turn_action(
    turn_id: int,
    action: Callable[[], object],
    refused: type[Exception],
    not_done: str,
    done: str,
    back: str,
) -> Response:
    """Run ``action`` on ``turn_id`` and commit, flashing ``done``; a ``refused`` error is
    flashed after ``not_done`` instead. Either way the reviewer goes back to the form's page
    (``back`` names the view when it gave none), to the turn's card when it was done.

    :raise 404: no such turn.
    """
    try:
        action()
    except NoSuchTurnError:
        abort(404, f"There is no turn {turn_id}.")
    except refused as exc:
        flash(f"{not_done}: {exc}.")
        return redirect(back_from_form(url_for(back)), code=303)
    get_session().commit()
    flash(done)
    return redirect(back_from_form(url_for(back)) + f"#turn-{turn_id}", code=303)
