"""The admin models page: versions side by side, promote, roll back, retrain in the background."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from agent.core.pipeline import Agent
from agent.mlops.registry.versions import active_version, promote, register
from agent.mlops.retrain.background import read_status
from agent.mlops.retrain.lock import retrain_lock
from tests.agent.conftest import make_agent  # noqa: F401  (a shared fixture)
from tests.agent.mlops.conftest import TOPIC, _one_torch_thread, corpus  # noqa: F401  (fixtures)
from tests.agent.mlops.retrain.test_cli import TINY_TOML
from tests.web.conftest import AdminActions, make_app

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

PROMOTE = {"kind": "generator"}


@pytest.fixture
def app(
    sqlite_engine: Engine,
    make_agent: Callable[..., Agent],  # noqa: F811
    tmp_path: Path,
    corpus: Path,  # noqa: F811
) -> Flask:
    """The web app with its model dir, base model path and generator preset on tmp paths."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_TOML.format(corpus=corpus, topic=TOPIC))
    return make_app(
        sqlite_engine,
        make_agent(sqlite_engine),
        model_dir=tmp_path / "models",
        model_store=None,
        generator_model=tmp_path / "no-generator",
        retrain_generator_config=preset,
    )


def _versions(app: Flask) -> None:
    with app.extensions["threadbot"].sessions.begin() as session:
        for n, ppl in ((1, 40.5), (2, 38.25)):
            row = register(
                session,
                "generator",
                f"generator-000{n}",
                served_as=f"g@{n}",
                path=f"/m/{n}",
                metrics={"heldout_base": ppl},
                gate="passed: test",
            )
            if n == 1:
                promote(session, row, "alice")


def test_page_promote_and_roll_back(app: Flask, admin: AdminActions) -> None:
    anonymous: FlaskClient = app.test_client()
    assert anonymous.get("/admin/models/").status_code == 302
    _versions(app)
    page = admin.client.get("/admin/models/")
    assert page.status_code == 200
    assert "generator-0001 <b>active</b>" in page.text
    assert "<th>heldout_base</th>" in page.text and "38.25" in page.text and "40.5" in page.text

    done = admin.post(
        "/admin/models/promote", PROMOTE | {"version": "generator-0002"}, follow_redirects=True
    )
    assert "generator generator-0002 promoted" in done.text
    assert "generator-0002 <b>active</b>" in done.text
    done = admin.post("/admin/models/rollback", {"kind": "generator"}, follow_redirects=True)
    assert "Rolled back: generator generator-0001 serves again." in done.text
    done = admin.post("/admin/models/rollback", {"kind": "nlu"}, follow_redirects=True)
    assert "no nlu version is active" in done.text
    assert (
        admin.post("/admin/models/promote", PROMOTE | {"version": "generator-0009"}).status_code
        == 404
    )
    assert admin.post("/admin/models/rollback", {"kind": "tokenizer"}).status_code == 404


def test_retrain_now_runs_in_the_background_one_at_a_time(
    app: Flask, admin: AdminActions, tmp_path: Path
) -> None:
    settings = app.extensions["threadbot"].settings
    with retrain_lock(settings.model_dir):
        busy = admin.post("/admin/models/retrain", {"kind": "generator"}, follow_redirects=True)
    assert "A retrain job is already running" in busy.text

    started = admin.post("/admin/models/retrain", {"kind": "generator"}, follow_redirects=True)
    assert "Retraining the generator in the background" in started.text
    deadline = time.monotonic() + 60
    while (status := read_status(settings)) is None or status.state == "running":
        assert time.monotonic() < deadline, "the background job did not finish"
        time.sleep(0.1)
    assert status.state == "done", status.lines
    assert status.result is not None
    assert status.result.startswith("generator-0001 registered, promoted")
    assert any(line.startswith("epoch 1:") for line in status.lines)
    page = admin.client.get("/admin/models/")
    assert "Retrain job: generator" in page.text and "generator-0001 <b>active</b>" in page.text
    with app.extensions["threadbot"].sessions() as session:
        row = active_version(session, "generator")
        assert row is not None and row.promoted_by == "alice"
