"""The trust rule: act on the top intent only when it is confident and clear of the runner-up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlu.types import Parse


@dataclass(frozen=True)
class TrustGate:
    """An absolute confidence threshold and a top-2 margin, both in [0, 1]."""

    threshold: float
    margin: float

    def trusts(self, confidences: Iterable[float]) -> bool:
        """Whether the best of ``confidences`` reaches the threshold and beats the next by the
        margin; a lone candidate's runner-up counts as 0, and no candidate is never trusted."""
        ranked = sorted(confidences, reverse=True)
        if not ranked:
            return False
        runner_up = ranked[1] if len(ranked) > 1 else 0.0
        return ranked[0] >= self.threshold and ranked[0] - runner_up >= self.margin

    def overridden(self, threshold: float | None, margin: float | None) -> TrustGate:
        """This gate with each value that is given replaced; a None keeps this gate's own."""
        return replace(
            self,
            threshold=self.threshold if threshold is None else threshold,
            margin=self.margin if margin is None else margin,
        )


# The untrained gate's values; also what a parser that does not report its gate is judged by.
DEFAULT_GATE = TrustGate(threshold=0.5, margin=0.1)


def is_trusted(parse: Parse, threshold: float | None = None, margin: float | None = None) -> bool:
    """The model's own decision, unless a threshold or margin override replaces its value."""
    if threshold is None and margin is None:
        return parse.trusted
    gate = (parse.gate or DEFAULT_GATE).overridden(threshold, margin)
    return gate.trusts(i.confidence for i in parse.intents)
