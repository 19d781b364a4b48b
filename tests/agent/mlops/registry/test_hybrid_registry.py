"""The reply index and ranker travel with their model through the registry: a version copied,
pushed to and pulled from the model store, hot-swapped in, rolled back and promoted again
serves its own folder's index and ranker under a version that covers all three files."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

import generator
from agent.core.pipeline import Agent
from agent.mlops.registry.store import LocalStore
from agent.mlops.registry.versions import next_version, promote, register, rollback
from agent.mlops.registry.watcher import ModelWatcher
from agent.storage.db import make_sessionmaker
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.index import IndexPair, build
from generator.ranker import FEATURES, Ranker
from generator.reuse import ReplySource
from generator.service import Seq2SeqReplyGenerator
from tests.agent.core.test_pipeline import say, turns
from tests.generator.conftest import corpus_file, tiny_model  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

HAND = ReplySource("hand", "written for these tests", reuse_allowed=True)
PIZZA = "pizza with fresh basil makes the best meal"
PAIRS = [
    IndexPair("hand", "c1", "can you order me a pizza", PIZZA),
    IndexPair("hand", "c2", "are robots going to replace programmers", "robots write code daily"),
    IndexPair("hand", "c3", "can computers fall in love", "a computer only follows its code"),
]


def hybrid_folder(trained: Path, path: Path) -> Path:
    """The tiny checkpoint with a reply index and a ranker that favours word overlap."""
    path.mkdir(parents=True)
    shutil.copyfile(trained / "best.pt", path / "best.pt")
    build(path / INDEX_FILE, PAIRS, [HAND])
    weights = tuple(1.0 if f == "overlap" else 0.0 for f in FEATURES)
    width = len(FEATURES)
    Ranker(weights, (0.0,) * width, (1.0,) * width, {"by": "hand"}).save(path / RANKER_FILE)
    return path


def served(agent: Agent) -> Seq2SeqReplyGenerator:
    assert isinstance(agent.generator, Seq2SeqReplyGenerator)
    return agent.generator


def test_index_and_ranker_travel_with_the_model(
    sqlite_engine: Engine,
    tmp_path: Path,
    tiny_model: Path,  # noqa: F811
    make_agent: Callable[..., Agent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sessions = make_sessionmaker(sqlite_engine)
    models, store = tmp_path / "models", LocalStore(tmp_path / "store")
    plain_src = tmp_path / "plain"
    plain_src.mkdir()
    shutil.copyfile(tiny_model / "best.pt", plain_src / "best.pt")
    hybrid_src = hybrid_folder(tiny_model, tmp_path / "built")

    # Both registered as `models import` and `retrain` do: the folder copied, then pushed.
    rows = {}
    with sessions.begin() as session:
        for name, source in (("plain", plain_src), ("hybrid", hybrid_src)):
            version = next_version(session, "generator")
            dest = models / "generator" / version
            shutil.copytree(source, dest)
            store.push("generator", version, dest)
            served_as = generator.load(dest).version
            rows[name] = register(
                session, "generator", version, served_as=served_as, path=dest.resolve()
            )
        promote(session, rows["plain"], "alice")
    plain_version, hybrid_version = rows["plain"].served_as, rows["hybrid"].served_as
    assert plain_version != hybrid_version
    pushed = store.root / "generator" / rows["hybrid"].version
    assert (pushed / INDEX_FILE).read_bytes() == (hybrid_src / INDEX_FILE).read_bytes()
    assert (pushed / RANKER_FILE).read_bytes() == (hybrid_src / RANKER_FILE).read_bytes()

    agent = make_agent(sqlite_engine, generator=generator.load(rows["plain"].path, seed=0))
    watcher = ModelWatcher(agent, sessions, interval=60, model_dir=models, store=store)
    assert watcher.poll_once() == []  # already serving the active version
    assert not served(agent).hybrid

    # This machine lost the hybrid's files: the watcher pulls them, index and ranker included.
    shutil.rmtree(rows["hybrid"].path)
    with sessions.begin() as session:
        promote(session, session.merge(rows["hybrid"]), "bob")
    assert watcher.poll_once() == ["generator"]
    gen = served(agent)
    pulled = models / "generator" / rows["hybrid"].version
    assert gen.hybrid and gen.version == hybrid_version
    assert gen.index is not None and gen.index.path.parent == pulled
    assert gen.ranker == Ranker.load(hybrid_src / RANKER_FILE)
    assert gen.options.seed == 0  # the decoding options carried over from the one replaced

    # A fallback turn says where its reply came from and which version (all three files) gave it.
    reply = say(agent, "order me a pizza")
    assert reply.tier == "generated" and reply.text == PIZZA
    last = turns(sqlite_engine)[-1]
    assert last.generator_version == hybrid_version
    assert last.reply_source is not None and last.reply_source["kind"] == "retrieved"
    assert last.reply_source["corpus"] == "hand"

    # Roll back: the plain model again, without retrieval.
    with sessions.begin() as session:
        assert rollback(session, "generator", "carol").version == rows["plain"].version
    assert watcher.poll_once() == ["generator"]
    assert not served(agent).hybrid and served(agent).index is None
    assert served(agent).version == plain_version

    # A version whose folder has an index but no ranker is refused at load, once, clearly; the
    # bot keeps serving what it served.
    broken_dest = models / "generator" / "broken"
    shutil.copytree(hybrid_src, broken_dest)
    (broken_dest / RANKER_FILE).unlink()
    with sessions.begin() as session:
        broken = register(
            session,
            "generator",
            next_version(session, "generator"),
            served_as="threadbot-generator@broken",
            path=broken_dest.resolve(),
        )
        promote(session, broken, "dave")
    with caplog.at_level(logging.ERROR):
        assert watcher.poll_once() == []
    assert f"has {INDEX_FILE} but no {RANKER_FILE}" in caplog.text
    assert served(agent).version == plain_version

    # Promoted anew from the local copy: the hybrid's own folder again.
    with sessions.begin() as session:
        promote(session, session.merge(rows["hybrid"]), "erin")
    assert watcher.poll_once() == ["generator"]
    assert served(agent).version == hybrid_version
    index = served(agent).index
    assert index is not None and index.path.parent == pulled
