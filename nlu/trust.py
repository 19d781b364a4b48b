"""The trust rule: act on the top intent only when it is confident and clear of the runner-up.

The one definition of the rule and of the gate that holds its two values: the spaCy
``intent_gate`` pipe applies it to a message, calibration to whole arrays of scores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TrustGate:
    """An absolute confidence threshold and a top-2 margin, both in [0, 1]."""

    threshold: float
    margin: float

    @overload
    def clears(self, top: float, runner_up: float) -> bool: ...
    @overload
    def clears(self, top: np.ndarray, runner_up: np.ndarray) -> np.ndarray: ...
    def clears(self, top: float | np.ndarray, runner_up: float | np.ndarray) -> bool | np.ndarray:
        """The rule itself: the top score reaches the threshold and leads by the margin; on
        arrays, row by row (``&``, not ``and``, so one expression serves both)."""
        return (top >= self.threshold) & (top - runner_up >= self.margin)

    def trusts(self, confidences: Iterable[float]) -> bool:
        """Whether the best of ``confidences`` reaches the threshold and beats the next by the
        margin; a lone candidate's runner-up counts as 0, and no candidate is never trusted."""
        ranked = sorted(confidences, reverse=True)
        if not ranked:
            return False
        return bool(self.clears(ranked[0], ranked[1] if len(ranked) > 1 else 0.0))

    def overridden(self, threshold: float | None, margin: float | None) -> TrustGate:
        """This gate with each value that is given replaced; a None keeps this gate's own."""
        return replace(
            self,
            threshold=self.threshold if threshold is None else threshold,
            margin=self.margin if margin is None else margin,
        )


# The untrained gate's values; also what a parser that does not report its gate is judged by.
DEFAULT_GATE = TrustGate(threshold=0.5, margin=0.1)
