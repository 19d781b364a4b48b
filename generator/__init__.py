"""The fallback reply generator: corpus, tokenizer, LSTM seq2seq, training, decoding, evaluation.

Self-contained: this package never imports ``agent`` or ``web``.
"""

from generator.errors import CorpusError, GeneratorError, ModelNotFoundError
from generator.service import LSTMReplyGenerator, load
from generator.types import Generated, ReplyContext, ReplyGenerator

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
