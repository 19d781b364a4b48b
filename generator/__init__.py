"""The fallback reply generator: corpus, tokenizer, LSTM seq2seq, training, decoding, evaluation.

Self-contained: this package never imports ``agent`` or ``web``.
"""

from generator.types import Generated, ReplyContext, ReplyGenerator

__all__ = ["Generated", "ReplyContext", "ReplyGenerator"]
