"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from agent.ops import metrics
from agent.storage.migrate import SchemaOutOfDate, ensure_current
from web.db import runtime

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving (touches nothing else)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when the database answers at the newest schema and the models are loaded."""
    checks: dict[str, str] = {}
    state = runtime()
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        ensure_current(state.engine)
        checks["schema"] = "ok"
    except SchemaOutOfDate:
        checks["schema"] = "behind: run `threadbot db upgrade`"
    except Exception:  # any failure means not ready; details go to the log, never the response
        log.exception("readiness: database unreachable")
        checks["database"] = "unreachable"
    try:
        agent = state.agent()
        checks["nlu"] = "ok"
        checks["generator"] = "ok" if agent.generator is not None else "none (canned fallbacks)"
    except Exception:
        log.exception("readiness: models failed to load")
        checks["nlu"] = "failed to load"
    ready = all(checks.get(name) == "ok" for name in ("database", "schema", "nlu"))
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Turns, tiers, latencies and Twitter loop health in Prometheus text format.

    Counts only, never message text; nginx (deploy/nginx) lets only the machine itself scrape it.
    """
    return Response(metrics.render(runtime().engine), content_type=metrics.CONTENT_TYPE)
