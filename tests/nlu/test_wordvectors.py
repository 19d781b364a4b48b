"""Word vectors from unlabelled text: the build, the shipped table, and intents that use them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu import load
from nlu.data import load_intents
from nlu.features import MeanWordVectors
from nlu.model import NLUModel
from nlu.train import TrainOptions, save, train
from nlu.wordvectors import SHIPPED, VectorSettings, WordVectors, build

# Two families of words that never share a sentence, only the contexts within each family.
_PETS = ["cat", "dog", "puppy", "kitten"]
_FOOD = ["pizza", "pasta", "salad", "soup"]


def _corpus() -> list[str]:
    sentences = []
    for i in range(400):
        pet, food = _PETS[i % 4], _FOOD[(i * 3) % 4]
        sentences.append(f"i walked my {pet} and fed my {pet} in the garden")
        sentences.append(f"we cooked {food} for dinner and ate the {food} hot")
    return sentences


def test_build_places_words_used_alike_near_each_other() -> None:
    table = build(_corpus(), VectorSettings(dim=4, window=3, min_count=3))
    near_cat = [w for w, _ in table.nearest("cat", 3)]
    assert set(near_cat) == {"dog", "puppy", "kitten"}
    vec = {w: table.vectors[table.index[w]] for w in ("cat", "dog", "pizza")}
    assert vec["cat"] @ vec["dog"] > vec["cat"] @ vec["pizza"] + 0.5


def test_build_is_deterministic_and_the_table_survives_save_and_load(tmp_path: Path) -> None:
    settings = VectorSettings(dim=4, window=3, min_count=3)
    first, second = build(_corpus(), settings), build(_corpus(), settings)
    assert first.words == second.words
    np.testing.assert_array_equal(first.vectors, second.vectors)
    again = WordVectors.load(first.save(tmp_path / "v.npz"))
    assert again.words == first.words and again.settings == settings
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-3)  # stored as float16


@pytest.fixture(scope="module")
def shipped() -> WordVectors:
    return WordVectors.load(SHIPPED)


def test_shipped_vectors_relate_everyday_synonyms(shipped: WordVectors) -> None:
    def sim(a: str, b: str) -> float:
        return float(shipped.vectors[shipped.index[a]] @ shipped.vectors[shipped.index[b]])

    assert "pay" in [w for w, _ in shipped.nearest("money", 10)]
    assert sim("song", "music") > sim("song", "money") + 0.3
    assert sim("rain", "weather") > sim("rain", "pay") + 0.3


def test_shipped_table_is_what_the_default_build_writes(shipped: WordVectors) -> None:
    # `threadbot nlu vectors` with no options must rebuild this table, not another one.
    assert shipped.settings == VectorSettings()
    assert len(shipped.words) > 10_000 and shipped.dim == VectorSettings().dim
    np.testing.assert_allclose(np.linalg.norm(shipped.vectors, axis=1), 1.0, atol=1e-2)


def test_text_vectors_bring_a_synonym_close_to_an_example_without_shared_words(
    shipped: WordVectors,
) -> None:
    dense = MeanWordVectors(shipped).fit(["play a song", "send money to mom"])
    song, tune, cash = (dense.vector(t) for t in ("play a song", "put on some music", "cash"))
    assert song @ tune > song @ cash + 0.2
    assert np.linalg.norm(dense.vector("zzqx")) == 0.0  # no known word: no direction
    # A word without a vector shortens the text's vector by its share of the IDF weight,
    # so the few words that have vectors do not speak for the whole text.
    assert np.linalg.norm(dense.vector("play a song")) == pytest.approx(1.0, abs=1e-5)
    assert 0.1 < np.linalg.norm(dense.vector("play a zzqx ?")) < 0.9


# A few examples per intent; the probes use words none of the examples has.
FEW_SHOT = """\
version: 1
intents:
  - name: play_music
    examples:
      - play a song
      - put a song on
      - i want to hear a song
      - play the next song
  - name: send_money
    examples:
      - send money to my brother
      - transfer money to my account
      - i need to send some money
      - move money to savings
  - name: weather
    examples:
      - will it rain today
      - is it going to rain tomorrow
      - rain forecast for the weekend
      - do i need an umbrella for the rain
"""
PROBES = {"listen to music": "play_music", "cash": "send_money", "sunny": "weather"}


@pytest.fixture(scope="module")
def vector_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default config with the shipped vectors switched on (and off, for comparison)."""
    from nlu.train import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    folder = tmp_path_factory.mktemp("configs")
    on = text.replace('word_vectors = ""', 'word_vectors = "chitchat"')
    off = text.replace('word_vectors = "chitchat"', 'word_vectors = ""')
    (folder / "on.cfg").write_text(on, encoding="utf-8")
    (folder / "off.cfg").write_text(off, encoding="utf-8")
    return folder


def _train(tmp_path: Path, config: Path) -> tuple[NLUModel, Path]:
    """Train on FEW_SHOT; return the model as trained (in memory) and where it was saved."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    data_path = tmp_path / "intents.yml"
    data_path.write_text(FEW_SHOT, encoding="utf-8")
    nlp = train(load_intents(data_path), config=config, options=TrainOptions(progress=False))
    path = save(nlp, tmp_path / "m")
    return NLUModel(nlp, path), path


def test_vectors_route_unseen_synonyms_that_ngrams_alone_miss(
    tmp_path: Path, vector_config: Path
) -> None:
    with_vectors, _ = _train(tmp_path / "on", vector_config / "on.cfg")
    without, _ = _train(tmp_path / "off", vector_config / "off.cfg")
    assert {t: with_vectors.parse(t).intent for t in PROBES} == PROBES
    assert all(without.parse(t).intent != intent for t, intent in PROBES.items())


def test_a_model_with_vectors_loads_with_the_same_predictions(
    tmp_path: Path, vector_config: Path
) -> None:
    trained, path = _train(tmp_path, vector_config / "on.cfg")
    loaded = load(path)
    texts = [*PROBES, "play music", "umbrella weather", "money money", "zzqx"]
    # The table was read from float16 and is written as float16, so nothing is rounded.
    assert [loaded.parse(t) for t in texts] == [trained.parse(t) for t in texts]
    # The model keeps its own copy of the table: it loads even if the shipped one changes.
    own = WordVectors.load(path / "intent_classifier" / "word_vectors.npz")
    assert own.words == WordVectors.load(SHIPPED).words
