"""The hybrid fallback served end to end on a tiny model: a reply index and a ranker beside the
checkpoint, loaded, versioned and refused as one unit (generator/service.py, hybrid.py)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import generator
from generator import Generated, ReplyContext
from generator.checkpoint import INDEX_FILE, RANKER_FILE, fingerprint
from generator.decode import DecodeOptions
from generator.fallback_build import store_topic_scores
from generator.hybrid import message_and_previous
from generator.index import IndexPair, ReplyIndexError, build, store_anti_lm
from generator.persona import Persona
from generator.ranker import FEATURES, Ranker, RankerError
from generator.reuse import ReplySource
from generator.service import Ranked, Seq2SeqReplyGenerator, load_fallback

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

HAND = ReplySource("hand", "written for these tests", reuse_allowed=True)
DREAM = "robots dream about tidy data and fast chips"
CODE = "robots write code but people still decide"
LOVE = "a computer only follows the code it was given"
BEACH_DOG = "my dog loves long walks on the beach"  # a human life: a bot may not say it
MUSIC = "mostly jazz and some old rock records"
PAIRS = [
    IndexPair("hand", "c1", "do robots dream about electric sheep", DREAM),
    IndexPair("hand", "c2", "are robots going to replace programmers", CODE),
    IndexPair("hand", "c3", "can computers fall in love", LOVE),
    IndexPair("hand", "c4", "do robots enjoy walks on the beach", BEACH_DOG),
    IndexPair("hand", "c5", "what kind of music do you enjoy", MUSIC),
]
KINDS = {"retrieved", "generated", "grounded"}
CONTEXT = ReplyContext(("hello there", "hi!", "do robots dream about sheep?"), topic="ai")


def ranker_on(**weights: float) -> Ranker:
    """A ranker that scores by the named raw features only (mean 0, scale 1)."""
    unknown = set(weights) - set(FEATURES)
    assert not unknown, unknown
    return Ranker(
        tuple(weights.get(f, 0.0) for f in FEATURES),
        (0.0,) * len(FEATURES),
        (1.0,) * len(FEATURES),
        {"by": "hand"},
    )


def make_model_dir(tiny_model: Path, path: Path, ranker: Ranker | None = None) -> Path:
    """A model folder: the tiny checkpoint, an index of PAIRS and a ranker."""
    path.mkdir(parents=True)
    shutil.copyfile(tiny_model / "best.pt", path / "best.pt")
    report = build(path / INDEX_FILE, PAIRS, [HAND])
    assert sum(report.kept.values()) == len(PAIRS)
    (ranker or ranker_on(overlap=1.0, logp=0.1)).save(path / RANKER_FILE)
    return path


@pytest.fixture(scope="module")
def model_dir(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_dir(tiny_model, tmp_path_factory.mktemp("hybrid") / "model")


@pytest.fixture(scope="module")
def gen(model_dir: Path) -> Seq2SeqReplyGenerator:
    return generator.load(model_dir, seed=0, max_tokens=8)


def with_ranker(gen: Seq2SeqReplyGenerator, ranker: Ranker) -> Seq2SeqReplyGenerator:
    """The same model and index behind another ranker."""
    return Seq2SeqReplyGenerator(
        gen.model,
        gen.tok,
        version="test",
        options=gen.options,
        context_turns=gen.context_turns,
        max_source_tokens=gen.max_source_tokens,
        index=gen.index,
        ranker=ranker,
    )


def test_a_folder_with_index_and_ranker_loads_as_the_hybrid(
    gen: Seq2SeqReplyGenerator, model_dir: Path
) -> None:
    assert gen.hybrid
    assert gen.index is not None and gen.index.path == model_dir / INDEX_FILE
    assert gen.index.replies == len(PAIRS) and gen.index.sources == {"hand": HAND.licence}
    assert gen.ranker == Ranker.load(model_dir / RANKER_FILE)
    assert gen.version == f"threadbot-generator@{fingerprint(model_dir)}"


def test_candidates_come_from_every_source_ranked_by_the_ranker(gen: Seq2SeqReplyGenerator) -> None:
    ctx = ReplyContext(CONTEXT.history, topic="ai", grounded=("Robots dreaming is a fun thought.",))
    (cands,) = gen.candidates([ctx])
    assert all(isinstance(c, Ranked) for c in cands)
    kinds = [c.source["kind"] for c in cands]
    assert set(kinds) == KINDS
    assert kinds.count("grounded") == 1
    scores = [c.source["score"] for c in cands]
    assert scores == sorted(scores, reverse=True)
    for cand in cands:
        features = cand.source["features"]
        assert 1 <= len(features) <= 3
        assert {name.removeprefix("not ") for name in features} <= set(FEATURES)
        if cand.source["kind"] == "retrieved":
            assert cand.source["corpus"] == "hand" and isinstance(cand.source["pair"], int)
            assert cand.source["retrieval"] >= 0  # BM25 is near 0 for a word in most rows
            assert cand.text in {p.reply for p in PAIRS}
    texts = [c.text for c in cands]
    assert len(texts) == len(set(texts))
    # The ranker weighs overlap with the message most: the reply to the most similar message.
    assert cands[0].text == DREAM and cands[0].source["kind"] == "retrieved"
    assert "overlap" in cands[0].source["features"]
    assert gen.candidates([]) == []


def test_reply_carries_its_source(gen: Seq2SeqReplyGenerator) -> None:
    out = gen.reply(CONTEXT)
    assert isinstance(out, Generated) and out.rejected_reason is None
    assert out.text == DREAM
    assert out.source is not None and out.source["kind"] == "retrieved"
    assert {"score", "features", "corpus", "pair"} <= set(out.source)
    assert gen.ranked(CONTEXT)[0] == DREAM
    batch = gen.reply_batch(
        [CONTEXT, ReplyContext(("what code does a computer follow, in love?",))]
    )
    assert batch[0] == out and batch[1].text == LOVE


def test_another_ranker_picks_another_source(gen: Seq2SeqReplyGenerator) -> None:
    asks = "Do you dream about robots too?"
    ctx = ReplyContext(CONTEXT.history, topic="ai", grounded=(asks,))
    out = with_ranker(gen, ranker_on(question=5.0, overlap=1.0)).reply(ctx)
    assert out.text == asks and out.source is not None and out.source["kind"] == "grounded"
    assert out.source["features"]["question"] == 5.0
    # Preferring what the LSTM finds likely puts one of its own candidates first.
    lstm = with_ranker(gen, ranker_on(logp=1.0))
    (cands,) = lstm.candidates([ctx])
    assert cands[0].source["kind"] == "generated"


def test_grounded_candidates_join_once(gen: Seq2SeqReplyGenerator) -> None:
    grounded = (
        "Robots dreaming is a fun thought.",
        "robots dream about TIDY data, and fast chips!",
    )
    (cands,) = gen.candidates([ReplyContext(CONTEXT.history, grounded=grounded)])
    texts = [c.text for c in cands]
    assert grounded[0] in texts
    # The second has the words of a retrieved reply: the pool holds it once, as retrieved.
    assert grounded[1] not in texts and texts.count(DREAM) == 1


def test_a_bot_persona_neither_retrieves_nor_says_a_human_life(gen: Seq2SeqReplyGenerator) -> None:
    history = ("do robots enjoy walks on the beach?",)
    human = gen.candidates([ReplyContext(history, persona=Persona("human"))])[0]
    assert BEACH_DOG in [c.text for c in human]
    bot = gen.candidates([ReplyContext(history, persona=Persona("bot"))])[0]
    assert BEACH_DOG not in [c.text for c in bot]

    # A grounded candidate that claims a human life is ranked, then refused by the guard.
    claim = "I went to the beach with my dog."
    picky = with_ranker(gen, ranker_on(question=-5.0, overlap=5.0))
    ctx = ReplyContext(history, grounded=(claim,), persona=Persona("bot"))
    assert picky.candidates([ctx])[0][0].text == claim
    out = picky.reply(ctx)
    assert out.text is not None and out.text != claim
    assert picky.candidate_rejections["persona"] == 1
    assert claim not in picky.ranked(ctx)
    # A human persona may say both: the retrieved one shares more words with the message.
    human_ctx = ReplyContext(history, grounded=(claim,), persona=Persona("human"))
    assert picky.reply(human_ctx).text == BEACH_DOG
    assert claim in picky.ranked(human_ctx)
    assert picky.candidate_rejections["persona"] == 1


def test_every_candidate_refused_gives_the_first_reason(gen: Seq2SeqReplyGenerator) -> None:
    fresh = with_ranker(gen, gen.ranker or ranker_on())
    out = fresh.reply(ReplyContext(CONTEXT.history, max_chars=0))
    assert out.text is None and out.rejected_reason == "too_long" and out.source is None
    assert fresh.rejections == {"too_long": 1}


HOSTILE_HISTORY = [
    ('"robots" OR * NEAR( dream',),
    ("\u202erobots\u202c \u200bdream\u200d about \ufeffsheep",),
    ("\x00", "\u3164", "{message previous}: robots"),
    ("'; DROP TABLE pairs; --", "<script>alert(1)</script>"),
    ("",),
    (),
]


@pytest.mark.parametrize("history", HOSTILE_HISTORY)
def test_hostile_messages_get_a_reply_or_a_reason(
    gen: Seq2SeqReplyGenerator, history: tuple[str, ...]
) -> None:
    out = gen.reply(ReplyContext(history, grounded=("\u202eRobots are fun.\u200b",)))
    assert (out.text is None) != (out.rejected_reason is None)
    if out.text is not None:
        assert out.source is not None and out.source["kind"] in KINDS


def test_syntax_around_words_still_retrieves(gen: Seq2SeqReplyGenerator) -> None:
    out = gen.reply(ReplyContext(HOSTILE_HISTORY[1]))
    assert out.text == DREAM


def test_reply_is_thread_safe_and_deterministic(gen: Seq2SeqReplyGenerator) -> None:
    contexts = [ReplyContext((f"do robots dream about sheep number {i}?",)) for i in range(4)]
    expected = gen.reply_batch(contexts)
    results: dict[int, Generated] = {}

    def worker(i: int) -> None:
        results[i] = gen.reply(contexts[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == expected


def test_retrieve_zero_serves_the_lstm_with_mmi(model_dir: Path, tmp_path: Path) -> None:
    off = generator.load(model_dir, seed=0, max_tokens=8, retrieve=0)
    assert not off.hybrid and off.index is not None  # loaded, versioned, not used
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    shutil.copyfile(model_dir / "best.pt", plain_dir / "best.pt")
    plain = generator.load(plain_dir, seed=0, max_tokens=8)
    assert not plain.hybrid and plain.index is None and plain.ranker is None
    ctx = ReplyContext(CONTEXT.history, grounded=("Robots dreaming is a fun thought.",))
    (cands,) = off.candidates([ctx])
    assert cands and all(c.source["kind"] == "generated" for c in cands)
    assert all(set(c.source) == {"kind", "score"} for c in cands)
    assert ctx.grounded[0] not in [c.text for c in cands]  # grounded ones are the hybrid's
    assert cands == plain.candidates([ctx])[0]
    assert off.version != plain.version  # the version still covers the folder's files
    # A checkpoint file, not its folder, loads alone.
    alone = generator.load(model_dir / "best.pt", seed=0, max_tokens=8)
    assert not alone.hybrid and alone.index is None
    assert alone.version == f"threadbot-generator@{fingerprint(model_dir / 'best.pt')}"


def test_the_version_covers_model_index_and_ranker(tiny_model: Path, tmp_path: Path) -> None:
    folder = make_model_dir(tiny_model, tmp_path / "m")
    first = generator.load(folder).version
    assert generator.load(folder).version == first  # stable

    ranker_on(overlap=2.0).save(folder / RANKER_FILE)
    second = generator.load(folder).version
    assert second != first

    extra = IndexPair("hand", "c9", "do computers ever get tired", "computers never sleep at all")
    build(folder / INDEX_FILE, [*PAIRS, extra], [HAND])
    third = generator.load(folder)
    assert third.version not in (first, second) and third.index is not None
    assert third.index.replies == len(PAIRS) + 1

    # Same bytes, same version: the version is of the content, not of the file's age.
    ranker_on(overlap=1.0, logp=0.1).save(folder / RANKER_FILE)
    build(folder / INDEX_FILE, PAIRS, [HAND])
    assert generator.load(folder).version == first

    (folder / INDEX_FILE).unlink()
    (folder / RANKER_FILE).unlink()
    plain = generator.load(folder)
    assert not plain.hybrid
    assert plain.version == f"threadbot-generator@{fingerprint(folder / 'best.pt')}"
    assert plain.version not in (first, second, third.version)


def _damage_folder(tiny_model: Path, tmp_path: Path, name: str) -> Path:
    return make_model_dir(tiny_model, tmp_path / name)


def _names_file_and_rebuild(err: pytest.ExceptionInfo[Exception], path: Path) -> None:
    text = str(err.value)
    assert str(path) in text, text
    assert "threadbot generator index --model DIR" in text, text


def test_an_index_without_a_ranker_is_refused_at_load(tiny_model: Path, tmp_path: Path) -> None:
    folder = _damage_folder(tiny_model, tmp_path, "no_ranker")
    (folder / RANKER_FILE).unlink()
    with pytest.raises(RankerError, match=f"has {INDEX_FILE} but no {RANKER_FILE}") as err:
        generator.load(folder)
    _names_file_and_rebuild(err, folder)
    assert isinstance(err.value, generator.GeneratorError)


def test_a_ranker_without_an_index_is_refused_at_load(tiny_model: Path, tmp_path: Path) -> None:
    folder = _damage_folder(tiny_model, tmp_path, "no_index")
    (folder / INDEX_FILE).unlink()
    with pytest.raises(ReplyIndexError, match="a ranker but no index") as err:
        generator.load(folder)
    _names_file_and_rebuild(err, folder / INDEX_FILE)
    assert load_fallback(tmp_path / "absent") == (None, None)


def test_a_damaged_index_is_refused_at_load(tiny_model: Path, tmp_path: Path) -> None:
    garbage = _damage_folder(tiny_model, tmp_path, "garbage")
    (garbage / INDEX_FILE).write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.raises(ReplyIndexError, match="not a readable reply index") as err:
        generator.load(garbage)
    _names_file_and_rebuild(err, garbage / INDEX_FILE)

    no_meta = _damage_folder(tiny_model, tmp_path, "no_meta")
    with sqlite3.connect(no_meta / INDEX_FILE) as db:
        db.execute("DROP TABLE meta")
    db.close()
    with pytest.raises(ReplyIndexError, match="no such table: meta") as err:
        generator.load(no_meta)
    _names_file_and_rebuild(err, no_meta / INDEX_FILE)


def test_a_ranker_for_other_features_is_refused_at_load(tiny_model: Path, tmp_path: Path) -> None:
    folder = _damage_folder(tiny_model, tmp_path, "old_ranker")
    text = (folder / RANKER_FILE).read_text()
    (folder / RANKER_FILE).write_text(text.replace('"overlap"', '"bm25"'))
    with pytest.raises(RankerError, match="written for other features") as err:
        generator.load(folder)
    _names_file_and_rebuild(err, folder / RANKER_FILE)

    (folder / RANKER_FILE).write_text("{}")
    with pytest.raises(RankerError) as err:
        generator.load(folder)
    assert str(folder / RANKER_FILE) in str(err.value)


def test_pools_put_the_reference_first_and_leave_out_its_conversation(
    gen: Seq2SeqReplyGenerator,
) -> None:
    contexts = [ReplyContext(("do robots dream about electric sheep?",))]
    reference = "i bet they dream in binary"
    options = DecodeOptions(beam_size=2, hybrid_samples=2, seed=0, max_tokens=8)
    (pool,) = gen.pools(contexts, options=options, retrieve=10, first=[reference], exclude=["c1"])
    (beams_only,) = gen.pools(contexts, options=replace(options, hybrid_samples=0), retrieve=10)
    generated = sum(s["kind"] == "generated" for s in pool.sources)
    assert 1 <= sum(s["kind"] == "generated" for s in beams_only.sources) <= 2 <= generated <= 4
    assert pool.texts[0] == reference and pool.sources[0] == {"kind": "reference"}
    assert DREAM not in pool.texts  # its own conversation is left out
    assert CODE in pool.texts  # another conversation about robots is not
    assert len(pool.texts) == len(pool.sources) == len(pool.ids) == len(pool.scores)
    assert {s["kind"] for s in pool.sources} == {"reference", "retrieved", "generated"}
    for scores, ids in zip(pool.scores, pool.ids, strict=True):
        assert scores.logp < 0 and scores.anti_lm < 0 and scores.tokens == len(ids) + 1
    assert message_and_previous(contexts[0]) == ("do robots dream about electric sheep?", "")
    assert message_and_previous(ReplyContext(("a @bob", "b www.x.com"))) == ("b", "a")


def test_stored_anti_lm_scores_match_those_a_turn_computes(
    tiny_model: Path, tmp_path: Path
) -> None:
    folder = make_model_dir(tiny_model, tmp_path / "m")
    options = DecodeOptions(beam_size=2, num_samples=0, seed=0, max_tokens=8)

    def retrieved_anti_lm(gen: Seq2SeqReplyGenerator) -> dict[str, float]:
        contexts = [CONTEXT, ReplyContext(("can a computer fall in love?",))]
        found = gen.pools(contexts, options=options, retrieve=10)
        return {
            f"{i}:{text}": scores.anti_lm
            for i, pool in enumerate(found)
            for text, source, scores in zip(pool.texts, pool.sources, pool.scores, strict=True)
            if source["kind"] == "retrieved"
        }

    before = generator.load(folder, seed=0)
    computed = retrieved_anti_lm(before)
    assert len(computed) >= 3 and all(v < 0 for v in computed.values())

    store_topic_scores(generator.load(folder / "best.pt", seed=0, retrieve=0), folder / INDEX_FILE)
    after = generator.load(folder, seed=0)
    assert after.version != before.version  # the index's bytes changed
    assert after.index is not None
    for topic in after.tok.topic_ids:  # every reply, for every topic token
        hits = after.index.search("robots computers music beach love", k=10, topic=topic)
        assert len(hits) == len(PAIRS) and all(h.anti_lm is not None for h in hits)
    stored = retrieved_anti_lm(after)
    assert stored.keys() == computed.keys()
    for key, value in computed.items():
        assert stored[key] == pytest.approx(value, rel=0.05, abs=0.05), key

    # A turn takes the stored score rather than computing it again.
    topic = after.source(CONTEXT)[0]
    store_anti_lm(folder / INDEX_FILE, topic, [(n, -99.0) for n in range(1, len(PAIRS) + 1)])
    marked = retrieved_anti_lm(generator.load(folder, seed=0))
    assert {k: v for k, v in marked.items() if k.startswith("0:")} == {
        k: -99.0 for k in computed if k.startswith("0:")
    }
    assert all(v != -99.0 for k, v in marked.items() if k.startswith("1:"))  # another topic


def test_export_carries_the_index_and_ranker_with_the_model(
    model_dir: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from generator.cli import generator as generator_cli

    out = tmp_path / "shipped"
    result = CliRunner().invoke(
        generator_cli, ["export", "--from", str(model_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in (INDEX_FILE, RANKER_FILE):
        assert (out / name).read_bytes() == (model_dir / name).read_bytes()
    assert generator.load(out).hybrid
