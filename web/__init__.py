"""The threadbot web app: public chat page and API, admin console, health checks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from agent.settings import Settings, get_settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, settings, test overrides, extensions, blueprints (as flaskr)."""
    overrides = dict(test_config or {})
    # Tests point the instance folder (where a generated secret key lives) at a temp dir.
    app = Flask(__name__, instance_path=overrides.pop("INSTANCE_PATH", None))
    settings: Settings = overrides.get("SETTINGS") or get_settings()
    app.config.from_mapping(
        SETTINGS=settings,
        SESSION_COOKIE_NAME="threadbot_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax, not Strict: a link to the console from e-mail or chat should arrive logged in.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.web_https,
        PERMANENT_SESSION_LIFETIME=timedelta(days=365),
        # Admin logins last a working day; the chat cookie lasts a year (see web/auth.py).
        ADMIN_SESSION_HOURS=12,
        MAX_CONTENT_LENGTH=settings.max_message_chars * 4 + 64_000,
        PAGE_SIZE=50,
        # The dashboard scans a month of turns; a reviewer's reloads within this reuse it.
        DASHBOARD_CACHE_SECONDS=30,
    )
    app.config.from_mapping(overrides)

    from web import db, errors, provenance, reveal, security

    app.secret_key = security.secret_key(app, settings)
    db.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    reveal.init_app(app)
    provenance.init_app(app)
    if settings.web_proxy_hops:
        # Behind nginx: trust exactly as many X-Forwarded-* hops as there are proxies.
        hops = settings.web_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from web import admin, annotate, auth, chat, control, dashboard, health, models_admin
    from web.showcase import views as showcase

    for module in (chat, health, auth, admin, annotate, control, dashboard, models_admin, showcase):
        app.register_blueprint(module.bp)
    return app
