"""Errors as JSON for API clients and as pages for people; never a traceback or a secret."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """API paths and clients that ask for JSON over HTML get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def api_error(status: int, code: str, message: str) -> tuple[Response, int]:
    """The one JSON error shape: ``{"error": {"status", "code", "message"}}``."""
    return jsonify(error={"status": status, "code": code, "message": message}), status


def handle_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or exc.name
    if wants_json():
        response, _ = api_error(status, exc.name.lower().replace(" ", "_"), message)
    else:
        page = render_template("error.html", status=status, name=exc.name, message=message)
        response = make_response(page)
    response.status_code = status
    # Keep what the exception says beyond its body: Allow on 405, Retry-After on 429.
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def handle_unexpected(exc: Exception) -> Response:
    # Logged in full for the operator; the visitor sees only that something broke.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http(InternalServerError("Something went wrong on our side. It has been logged."))


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors and for anything unexpected."""
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
