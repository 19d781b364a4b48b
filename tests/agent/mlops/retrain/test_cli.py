"""The retrain, models and users commands, run in process against a temporary bot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.core.messages import Incoming
from agent.core.pipeline import Agent
from agent.mlops.retrain.lock import retrain_lock
from agent.storage.db import make_engine, make_sessionmaker
from agent.storage.models import Turn, User
from tests.agent.mlops.conftest import TOPIC
from tests.conftest import ROOT
from tests.conftest import run_cli as run

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

TINY_TOML = """
out_dir = "unused"
epochs = 2
batch_size = 16
lr = 1e-2
warmup_steps = 5
num_threads = 1

[model]
vocab_size = 400
embed_dim = 32
hidden_dim = 48
num_layers = 1
dropout = 0.0

[data]
corpus = "{corpus}"
topics = ["{topic}"]
context_turns = 2
val_fraction = 0.2
"""


@pytest.fixture
def env(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> Iterator[Path]:
    """Settings on a temporary database and model dir, with the tiny generator preset."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_TOML.format(corpus=corpus, topic=TOPIC))
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "DATA_DIR": str(ROOT / "data" / "bot"),
        "NLU_MODEL": str(ROOT / "models" / "nlu"),
        "GENERATOR_MODEL": str(tmp_path / "no-generator"),
        "MODEL_DIR": str(tmp_path / "models"),
        "RETRAIN_GENERATOR_CONFIG": str(preset),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"THREADBOT_{name}", value)
    monkeypatch.delenv("THREADBOT_MODEL_STORE", raising=False)
    yield tmp_path


def test_retrain_and_models_commands(env: Path) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out = run("models", "list")
    assert code == 0 and "no model versions registered yet" in out

    code, out = run("retrain", "generator", "--from-scratch", "--dry-run", "--quiet")
    assert code == 0, out
    assert "training from scratch" in out
    assert "gate passed: no active model to compare with" in out
    assert "dry run: nothing registered" in out
    assert "no model versions" in run("models", "list")[1]

    code, out = run("retrain", "generator", "--from-scratch", "--quiet")
    assert code == 0, out
    assert "registered generator generator-0001" in out and "(promoted" in out
    code, out = run("models", "list")
    assert out.startswith("* generator generator-0001") and "heldout_base=" in out
    assert '"active": true' in run("models", "list", "--json")[1]

    code, out = run("models", "promote", "generator", "generator-0001")
    assert code == 1 and "already active" in out
    code, out = run("models", "promote", "generator", "generator-0007")
    assert code == 1 and "known: generator-0001" in out
    code, out = run("models", "rollback", "generator")
    assert code == 1 and "nothing to roll back to" in out

    # The shipped NLU model, imported so a later rollback can return to it.
    code, out = run("models", "import", "nlu", str(ROOT / "models" / "nlu"), "--promote")
    assert code == 0 and "registered nlu nlu-0001 (threadbot_nlu-" in out and "active" in out
    assert (env / "models" / "nlu" / "nlu-0001" / "meta.json").exists()
    code, out = run("models", "import", "generator", str(env))
    assert code == 2 and "the directory has none of model.pt" in out

    with retrain_lock(env / "models"):
        code, out = run("retrain", "nlu", "--quiet")
    assert code == 1 and "another retrain job is running" in out


def test_users_forget(env: Path, make_agent: Callable[..., Agent]) -> None:
    assert run("db", "upgrade")[0] == 0
    engine = make_engine(f"sqlite:///{env / 'bot.db'}")
    agent = make_agent(engine)
    for text in ("hello", "I love robots"):
        agent.handle(Incoming("twitter", "42", text, handle="Alice"))
    agent.handle(Incoming("twitter", "43", "hello", handle="bob"))

    code, out = run("users", "forget", "@nobody", "--yes")
    assert code == 1 and "no user with handle '@nobody'" in out
    code, out = run("users", "forget", "@alice", "--yes")
    assert code == 0, out
    assert "forgot @alice: 1 account(s), 2 turn(s)" in out
    with make_sessionmaker(engine)() as session:
        alice = session.scalars(select(User).where(User.external_id == "42")).one()
        assert alice.opted_out and alice.handle is None
        assert session.scalar(select(func.count()).select_from(Turn)) == 1  # bob's turn stays
    engine.dispose()
