"""Reviewers' writes on turns: one annotation, bulk actions, and CSV/JSONL exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for

from web.auth import back_from_form, guard
from web.db import get_session, runtime
from web.review import annotations, queries
from web.review.filters import parse_filter, whole_number
from web.review.queries import TurnRow
from web.turn_forms import turn_action

bp = guard(Blueprint("annotate", __name__, url_prefix="/admin"))

# "All matching" bulk actions touch at most this many turns at once, newest first.
MAX_BULK = 10_000
EXPORT_FIELDS = (
    "turn_id",
    "created_at",
    "channel",
    "user",
    "handle",
    "user_text",
    "reply_text",
    "intent",
    "confidence",
    "runner_up",
    "runner_up_confidence",
    "trusted",
    "tier",
    "state_before",
    "state_after",
    "latency_ms",
    "nlu_version",
    "generator_version",
    "verdict",
    "better_reply",
    "corrected_intent",
    "approved",
)
# Spreadsheets run cells that start with these as formulas; tweets are hostile input.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@bp.post("/turns/<int:turn_id>/annotate")
def annotate(turn_id: int) -> Response:
    """Save the reviewer's marks on one turn.

    :raise 404: no such turn.
    """
    verdict = request.form.get("verdict") or None

    def save() -> None:
        annotations.annotate(
            get_session(),
            turn_id,
            verdict=verdict,
            better_reply=request.form.get("better_reply"),
            corrected_intent=request.form.get("corrected_intent"),
            approved=request.form.get("approved") == "1",
            admin_id=g.admin.id,
            known_intents=runtime().intents,
        )

    return turn_action(
        turn_id,
        save,
        annotations.AnnotationError,
        "Not saved",
        f"Turn {turn_id} saved.",
        "admin.review",
    )


@bp.post("/turns/bulk")
def bulk() -> Response:
    """Apply one action to the ticked turns, or to every turn matching the list's filter."""
    action = request.form.get("action", "")
    if request.form.get("scope") == "all":
        where, _ = parse_filter(request.form)
        ids = queries.matching_turn_ids(get_session(), where, MAX_BULK)
    else:
        ids = [n for raw in request.form.getlist("turn_id") if (n := whole_number(raw)) is not None]
    if not ids:
        flash("No turns selected.")
        return redirect(back_from_form(url_for("admin.review")), code=303)
    try:
        changed = annotations.bulk_annotate(get_session(), ids, action, g.admin.id)
    except annotations.AnnotationError as exc:
        flash(f"Nothing changed: {exc}.")
        return redirect(back_from_form(url_for("admin.review")), code=303)
    get_session().commit()
    flash(f"{action}: {changed} turn(s) updated.")
    return redirect(back_from_form(url_for("admin.review")), code=303)


def export_record(row: TurnRow) -> dict[str, Any]:
    """One exported turn: the logged facts and the review marks, as plain values."""
    turn, note = row.turn, row.annotation
    alternatives = [a for a in turn.alternatives or [] if isinstance(a, dict)]
    runner_up = alternatives[1] if len(alternatives) > 1 else {}
    created = turn.created_at
    return {
        "turn_id": turn.id,
        "created_at": created.isoformat(),
        "channel": turn.channel,
        "user": row.user.external_id,
        "handle": row.user.handle,
        "user_text": turn.user_text,
        "reply_text": turn.reply_text,
        "intent": turn.intent,
        "confidence": turn.confidence,
        "runner_up": runner_up.get("name"),
        "runner_up_confidence": runner_up.get("confidence"),
        "trusted": turn.trusted,
        "tier": turn.tier,
        "state_before": turn.state_before,
        "state_after": turn.state_after,
        "latency_ms": turn.latency_ms,
        "nlu_version": turn.nlu_version,
        "generator_version": turn.generator_version,
        "verdict": note.verdict if note else None,
        "better_reply": note.better_reply if note else None,
        "corrected_intent": note.corrected_intent if note else None,
        "approved": bool(note and note.approved),
    }


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_lines(rows: Iterator[TurnRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in export_record(row).items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _jsonl_lines(rows: Iterator[TurnRow]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(export_record(row), ensure_ascii=False) + "\n"


@bp.get("/turns/export.<fmt>")
def export(fmt: str) -> Response:
    """Every turn matching the filter, streamed as CSV or JSON Lines.

    :raise 404: a format other than csv or jsonl.
    """
    if fmt not in ("csv", "jsonl"):
        abort(404, "Exports are .csv or .jsonl.")
    where, _ = parse_filter(request.args)
    # The session must outlive this view: the body streams after it returns.
    session = runtime().sessions()

    def generate() -> Iterator[str]:
        try:
            rows = queries.iter_turn_rows(session, where)
            yield from _csv_lines(rows) if fmt == "csv" else _jsonl_lines(rows)
        finally:
            session.close()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(
        generate(),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="threadbot-turns-{stamp}.{fmt}"'},
    )
