from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.mlops.retrain.reviewed import reviewed_examples
from agent.storage.review_models import Annotation
from tests.web.conftest import AdminActions, add_turn


def test_annotate_one_turn(admin: AdminActions, db: Session) -> None:
    turn = add_turn(db, "ana", "hi", tier="canned", trusted=False)
    db.commit()
    response = admin.post(
        f"/admin/turns/{turn.id}/annotate",
        {
            "verdict": "bad",
            "better_reply": "Hi! What part of AI interests you?",
            "corrected_intent": "greet",
            "approved": "1",
            "next": f"/admin/conversations/{turn.conversation_id}",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/admin/conversations/{turn.conversation_id}#turn-{turn.id}"
    )
    note = db.scalar(select(Annotation))
    assert note is not None
    assert (note.verdict, note.corrected_intent, note.approved) == ("bad", "greet", True)
    assert note.admin_id is not None
    # Saving again replaces the marks: one annotation per turn.
    admin.post(f"/admin/turns/{turn.id}/annotate", {"verdict": "good"})
    db.expire_all()
    notes = db.scalars(select(Annotation)).all()
    assert len(notes) == 1 and notes[0].verdict == "good" and not notes[0].approved
    page = admin.client.get(f"/admin/conversations/{turn.conversation_id}").text
    assert "verdict-good" in page


def test_annotation_refuses_unknown_intent_and_turn(admin: AdminActions, db: Session) -> None:
    turn = add_turn(db, "ana", "hi")
    db.commit()
    bad = admin.post(
        f"/admin/turns/{turn.id}/annotate", {"corrected_intent": "no_such"}, follow_redirects=True
    )
    assert "Not saved: unknown intent" in bad.text
    assert db.scalar(select(Annotation)) is None
    assert admin.post("/admin/turns/999/annotate", {"verdict": "good"}).status_code == 404


def test_bulk_actions_on_ticked_and_on_all_matching(admin: AdminActions, db: Session) -> None:
    ids = [add_turn(db, f"u{n}", f"text {n}", tier="canned").id for n in range(4)]
    add_turn(db, "other", "scripted one")
    db.commit()
    done = admin.post(
        "/admin/turns/bulk", {"action": "good", "turn_id": [str(ids[0]), str(ids[1])]}
    )
    assert done.status_code == 303
    assert len(db.scalars(select(Annotation)).all()) == 2
    admin.post("/admin/turns/bulk", {"action": "approve", "scope": "all", "tier": "canned"})
    db.expire_all()
    notes = db.scalars(select(Annotation)).all()
    assert len(notes) == 4 and all(n.approved for n in notes)
    assert sorted(n.verdict or "" for n in notes) == ["", "", "good", "good"]  # kept
    assert len(reviewed_examples(db, context_turns=3, default_topic=None)) == 4
    admin.post("/admin/turns/bulk", {"action": "clear", "turn_id": [str(ids[0])]})
    db.expire_all()
    assert len(db.scalars(select(Annotation)).all()) == 3
    nothing = admin.post("/admin/turns/bulk", {"action": "good"}, follow_redirects=True)
    assert "No turns selected." in nothing.text
    unknown = admin.post(
        "/admin/turns/bulk", {"action": "delete", "turn_id": [str(ids[1])]}, follow_redirects=True
    )
    assert "Nothing changed: action must be one of" in unknown.text


def test_reviewed_examples_use_corrections(admin: AdminActions, db: Session) -> None:
    turn = add_turn(db, "ana", "yo", intent="thanks", reply="You're welcome!")
    db.commit()
    admin.post(
        f"/admin/turns/{turn.id}/annotate",
        {"better_reply": "Hey!", "corrected_intent": "greet", "approved": "1"},
    )
    # Retraining's one rule for which reviewed turns teach what (agent/mlops/retrain/reviewed.py).
    (example,) = reviewed_examples(db, context_turns=3, default_topic=None)
    assert (example.context[-1], example.intent, example.reply) == ("yo", "greet", "Hey!")


def test_export_csv_and_jsonl_follow_the_filter(admin: AdminActions, db: Session) -> None:
    add_turn(db, "ana", '=HYPERLINK("http://evil")', tier="canned")
    add_turn(db, "bob", "plain hello")
    db.commit()
    response = admin.client.get("/admin/turns/export.csv?tier=canned")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    # Spreadsheet formulas in hostile text are defused with a leading apostrophe.
    assert rows[0]["user_text"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["runner_up"] == "thanks" and rows[0]["tier"] == "canned"
    lines = admin.client.get("/admin/turns/export.jsonl").text.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["user"] for r in records] == ["ana", "bob"]
    assert records[0]["user_text"] == '=HYPERLINK("http://evil")'  # JSON keeps it exact
    assert admin.client.get("/admin/turns/export.xml").status_code == 404
