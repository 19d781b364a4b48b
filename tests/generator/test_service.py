"""generator.load and the reply object the agent calls."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

import generator
from generator import GeneratorError, ModelNotFoundError, ReplyContext, load
from generator.persona import Persona
from generator.service import Ranked

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

ROOT = Path(__file__).resolve().parents[2]


def test_load_errors_name_the_path_and_the_command(tmp_path: Path, tiny_model: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        load(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(err.value)
    assert "threadbot generator train" in str(err.value)
    assert isinstance(err.value, GeneratorError)
    with pytest.raises(TypeError, match="unknown decoding options"):
        load(tiny_model, bogus=1)


def test_reply_and_counters(tiny_model_of_kind: Path) -> None:
    gen = load(tiny_model_of_kind, beam_size=2, max_tokens=10)
    assert gen.version.startswith("threadbot-generator@") and len(gen.version) > 20
    out = gen.reply(ReplyContext(history=("hello", "hi", "do robots dream?"), topic="ai"))
    assert (out.text is None) != (out.rejected_reason is None)
    if out.text is not None:
        assert len(out.text) <= 280
    tight = gen.reply(ReplyContext(history=("tell me about robots",), max_chars=0))
    assert tight.text is None and tight.rejected_reason in ("too_long", "empty")
    assert gen.rejections[tight.rejected_reason] >= 1
    assert sum(gen.candidate_rejections.values()) >= 1
    assert gen.stats()["rejections"] == dict(gen.rejections)


def test_choose_falls_back_to_next_candidate_then_rejects(tiny_model: Path) -> None:
    gen = load(tiny_model)
    ctx = ReplyContext(history=("hi",), previous_bot_reply="i like tea")
    assert gen.choose([ctx], [["I like tea!", "robots are fun"]])[0].text == "robots are fun"
    rejected = gen.choose([ctx], [["damn it", "see www.x.com/a"]])[0]
    assert rejected.text is None and rejected.rejected_reason == "profanity"
    assert gen.rejections == {"profanity": 1}
    assert gen.candidate_rejections == {"repeat": 1, "profanity": 1, "url": 1}


def test_the_persona_stance_refuses_candidates_for_the_other_side(tiny_model: Path) -> None:
    gen = load(tiny_model)

    def side_of(text: str) -> str:
        return "against" if "hate" in text else "favor" if "love" in text else "none"

    ctx = ReplyContext(history=("robots?",), persona=Persona(stance="favor"), side_of=side_of)
    picked = gen.choose([ctx], [["i hate robots", "i love robots", "robots exist"]])[0]
    assert picked.text == "i love robots" and gen.candidate_rejections == {"stance": 1}
    neutral = ReplyContext(history=("robots?",), persona=Persona(stance="none"), side_of=side_of)
    assert gen.choose([neutral], [["i love robots", "robots exist"]])[0].text == "robots exist"
    # No reading of sides (an NLU without stance): the rule stays off.
    plain = ReplyContext(history=("robots?",), persona=Persona(stance="favor"))
    assert gen.choose([plain], [["i hate robots"]])[0].text == "i hate robots"


def test_on_a_message_that_argues_a_side_a_bot_with_a_stance_says_only_its_own_lines(
    tiny_model: Path,
) -> None:
    gen = load(tiny_model)

    def side_of(text: str) -> str:
        return "against" if "problem" in text else "none"

    drawn = ("That's a real problem. I still like AI.", "Fair worry. I'm still hopeful.")
    own = [Ranked(text, {"kind": "grounded"}) for text in reversed(drawn)]  # ranked otherwise
    other = [
        Ranked("exactly what i think", {"kind": "retrieved"}),
        Ranked("so true", {"kind": "generated"}),
    ]
    ctx = ReplyContext(
        history=("ai is a scam",),
        persona=Persona(stance="favor"),
        side_of=side_of,
        grounded=drawn,
        side="against",
    )
    # The bot's own lines come first, in the order the agent drew them, and are never read
    # for their side; other people's replies are refused.
    assert gen.choose([ctx], [[*other, *own]])[0].text == drawn[0]
    explained = [(c.text, reason) for c, reason in _explained(gen, ctx, [*other, *own])]
    assert explained == [
        (drawn[0], None),
        (drawn[1], None),
        (other[0].text, "stance"),
        (other[1].text, "stance"),
    ]
    assert gen.choose([ctx], [[*other, own[0]]])[0].text == drawn[1]
    # Every own line is an option, in the drawn order: on X the next serves where the first
    # was posted lately.
    assert gen.ranked(ctx) == list(drawn)
    # No own line among them, no side argued, or no stance of the bot's: the rule stays off.
    assert gen.choose([ctx], [other])[0].text == other[0].text
    calm = ReplyContext(history=("hi",), persona=Persona(stance="favor"), side_of=side_of)
    assert gen.choose([calm], [[*other, *own]])[0].text == other[0].text
    free = ReplyContext(history=("ai is a scam",), grounded=drawn, side="against")
    assert gen.choose([free], [[*other, *own]])[0].text == other[0].text


def test_a_bot_asked_about_itself_answers_with_its_own_lines(tiny_model: Path) -> None:
    gen = load(tiny_model)
    drawn = ("No siblings for me, I'm just a bot. How about you?",)
    own = [Ranked(drawn[0], {"kind": "grounded"})]
    # A human answer the persona's patterns let through: no "I" in it.
    other = [Ranked("A sister and a brother :) wbu?", {"kind": "retrieved"})]
    asked = ReplyContext(
        history=("do you have any brothers or sisters?",), grounded=drawn, about_bot=True
    )
    assert not asked.persona.breaks(other[0].text)
    assert gen.choose([asked], [[*other, *own]])[0].text == drawn[0]
    explained = [(c.text, reason) for c, reason in _explained(gen, asked, [*other, *own])]
    assert explained == [(drawn[0], None), (other[0].text, "persona")]
    # A human persona may answer with a human life; without an own line the rule stays off.
    human = replace(asked, persona=Persona("human"))
    assert gen.choose([human], [[*other, *own]])[0].text == other[0].text
    assert gen.choose([asked], [other])[0].text == other[0].text


def _explained(gen: Any, ctx: ReplyContext, cands: list[Ranked]) -> list[tuple[Ranked, str | None]]:
    """``explain`` over given candidates instead of the model's own (and ``ranked`` after)."""
    gen.candidates = lambda contexts: [cands]
    return gen.explain(ctx)


def test_reply_is_thread_safe_and_deterministic(tiny_model: Path) -> None:
    gen = load(tiny_model, beam_size=2, max_tokens=8)
    contexts = [ReplyContext(history=(f"message number {i} about robots",)) for i in range(6)]
    expected = [gen.reply(c) for c in contexts]
    results: dict[int, object] = {}

    def worker(i: int) -> None:
        results[i] = gen.reply(contexts[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(6)] == expected
    # In a batch the same replies come back; their scores differ in the last digits, since
    # padding changes the int8 activations' rounding.
    batched = gen.reply_batch(contexts)
    assert [g.text for g in batched] == [g.text for g in expected]
    for got, want in zip(batched, expected, strict=True):
        assert got.source is not None and want.source is not None
        assert got.source["score"] == pytest.approx(want.source["score"], abs=0.05)


def test_quantized_and_float_models_both_load(tiny_model_of_kind: Path) -> None:
    ctx = ReplyContext(history=("do robots dream?",))
    for quantize in (True, False):
        out = load(tiny_model_of_kind, quantize=quantize, max_tokens=6).reply(ctx)
        assert out.text is not None or out.rejected_reason is not None
    int8 = load(tiny_model_of_kind, quantize=True).model
    assert not any(type(m) is torch.nn.Linear for m in int8.modules())  # every layer int8


def test_threads_set_the_process_wide_torch_threads(tiny_model: Path) -> None:
    before = torch.get_num_threads()
    try:
        load(tiny_model, threads=1)
        assert torch.get_num_threads() == 1
        load(tiny_model)  # None leaves the process's setting alone
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        load(tiny_model, threads=0)


def test_shipped_default_model() -> None:
    path = ROOT / "models" / "generator"
    assert (path / "model.pt").stat().st_size <= 25 * 2**20
    assert (path / "MODEL_CARD.md").exists()
    gen = generator.load(path)
    assert gen.version.startswith("ada-ai@")
    out = gen.reply(ReplyContext(history=("Do you think computers can fall in love?",), topic="ai"))
    assert out.text is not None or out.rejected_reason is not None
    assert out.text is None or len(out.text) <= 280
