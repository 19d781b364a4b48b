"""The fallback reply generator: corpus, tokenizer, LSTM seq2seq, training, decoding, evaluation.

Self-contained: this package never imports ``agent`` or ``web``.
"""

from typing import TYPE_CHECKING, Any

from generator.errors import CorpusError, GeneratorError, ModelNotFoundError
from generator.types import Generated, ReplyContext, ReplyGenerator

if TYPE_CHECKING:
    from generator.service import Seq2SeqReplyGenerator, load


def __getattr__(name: str) -> Any:
    """Import torch only when a model is loaded: the agent's other commands start in a blink."""
    if name in {"Seq2SeqReplyGenerator", "load"}:
        from generator import service

        return getattr(service, name)
    raise AttributeError(f"module 'generator' has no attribute {name!r}")


__all__ = [
    "CorpusError",
    "Generated",
    "GeneratorError",
    "ModelNotFoundError",
    "ReplyContext",
    "ReplyGenerator",
    "Seq2SeqReplyGenerator",
    "load",
]
