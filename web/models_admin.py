"""The admin models page: versions and metrics side by side, promote, roll back, retrain now."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import Session

from agent.mlops.registry.models import KINDS
from agent.mlops.registry.versions import (
    RegistryError,
    get_version,
    list_versions,
    promote,
    rollback,
)
from agent.mlops.retrain.background import read_status, retrain_job, start_job
from agent.mlops.retrain.lock import RetrainBusy
from web.auth import guard
from web.db import get_session, runtime

bp = guard(Blueprint("models_admin", __name__, url_prefix="/admin/models"))


def _kind(kind: str) -> str:
    """:raise 404: not a model kind."""
    if kind not in KINDS:
        abort(404, f"Unknown model kind {kind!r}.")
    return kind


@bp.get("/")
def index() -> str:
    """Every version of each kind, its metrics in columns, and the latest retrain job."""
    by_kind = {kind: list_versions(get_session(), kind) for kind in KINDS}
    columns = {
        kind: sorted({m for v in rows for m in v.metrics if m != "active_before"})
        for kind, rows in by_kind.items()
    }
    job = read_status(runtime().settings)
    return render_template("models/index.html", by_kind=by_kind, columns=columns, job=job)


# Actions take the kind and version from the form, not the URL: one fixed URL per action.
@bp.post("/promote")
def promote_version() -> Response:
    """Serve the posted version from the watchers' next poll.

    :raise 404: unknown kind or version.
    """
    kind, version = request.form.get("kind", ""), request.form.get("version", "")
    session = get_session()
    row = get_version(session, _kind(kind), version)
    if row is None:
        abort(404, f"There is no {kind} version {version!r}.")

    def promoted() -> str:
        promote(session, row, g.admin.username)
        return f"{kind} {version} promoted: running processes switch within a poll interval."

    return _registry_action(session, promoted)


@bp.post("/rollback")
def rollback_kind() -> Response:
    """Serve again the version the active one of the posted kind replaced.

    :raise 404: unknown kind.
    """
    kind = request.form.get("kind", "")
    session = get_session()

    def rolled_back() -> str:
        row = rollback(session, _kind(kind), g.admin.username)
        return f"Rolled back: {kind} {row.version} serves again."

    return _registry_action(session, rolled_back)


def _registry_action(session: Session, act: Callable[[], str]) -> Response:
    """Run a registry change and commit it, flashing what it says or why the registry
    refused; back to the models page either way."""
    try:
        message = act()
        session.commit()
        flash(message)
    except RegistryError as exc:
        session.rollback()
        flash(str(exc))
    return redirect(url_for("models_admin.index"), code=303)


@bp.post("/retrain")
def retrain_now() -> Response:
    """Start a retrain job for the posted kind in the background; only one runs at a time.

    :raise 404: unknown kind.
    """
    kind = _kind(request.form.get("kind", ""))
    state = runtime()
    topic = state.agent().script.topic if kind == "generator" else None
    job = retrain_job(state.settings, state.sessions, kind, g.admin.username, topic)
    try:
        start_job(state.settings, kind, g.admin.username, job)
        flash(f"Retraining the {kind} in the background; this page shows its progress.")
    except RetrainBusy:
        flash("A retrain job is already running; wait for it to finish.")
    return redirect(url_for("models_admin.index"), code=303)
