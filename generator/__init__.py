"""The fallback reply generator: corpus, tokenizer, LSTM seq2seq, training, decoding, evaluation.

Self-contained: this package never imports ``agent`` or ``web``.
"""

from typing import TYPE_CHECKING

from generator.errors import CorpusError, GeneratorError, ModelNotFoundError
from generator.types import Generated, ReplyContext, ReplyGenerator
from nlu.lazy import lazy_attributes

if TYPE_CHECKING:
    from generator.service import LSTMReplyGenerator, load


# torch is imported only when a model is loaded: the agent's other commands start in a blink.
__getattr__ = lazy_attributes(__name__, "service", ("LSTMReplyGenerator", "load"))


__all__ = [
    "CorpusError",
    "Generated",
    "GeneratorError",
    "LSTMReplyGenerator",
    "ModelNotFoundError",
    "ReplyContext",
    "ReplyGenerator",
    "load",
]
