"""The trust rule in one place: the gate, and settings that override one value of it."""

from __future__ import annotations

import pytest

from nlu.trust import DEFAULT_GATE, TrustGate
from nlu.types import IntentScore, Parse, is_trusted

# The model's own gate: a low threshold, a wide margin.
OWN = TrustGate(threshold=0.3, margin=0.4)


def parse(*confidences: float, gate: TrustGate | None = OWN) -> Parse:
    intents = tuple(IntentScore(f"i{n}", c) for n, c in enumerate(confidences))
    return Parse("x", intents, trusted=OWN.trusts(confidences), gate=gate)


@pytest.mark.parametrize(
    ("confidences", "expected"),
    [
        ((0.9, 0.05), True),
        ((0.6, 0.3), False),  # confident, but too close to the runner-up
        ((0.25,), False),  # alone, but below the threshold
        ((0.45,), True),  # alone: the runner-up counts as 0
        ((0.3, 0.5, 0.9), False),  # any order: 0.9 leads 0.5 by 0.4, short of 0.41
        ((), False),
    ],
)
def test_gate_needs_confidence_and_a_clear_lead(
    confidences: tuple[float, ...], expected: bool
) -> None:
    assert TrustGate(0.3, 0.41).trusts(confidences) is expected


def test_no_override_keeps_the_models_decision() -> None:
    assert is_trusted(parse(0.9, 0.05)) and not is_trusted(parse(0.6, 0.3))


def test_one_override_keeps_the_models_other_value() -> None:
    # Threshold only: the model's 0.4 margin still refuses a 0.3 lead.
    assert not is_trusted(parse(0.6, 0.3), threshold=0.5)
    # Margin only: the model's 0.3 threshold still applies, so 0.25 stays untrusted.
    assert not is_trusted(parse(0.25), margin=0.1)
    assert is_trusted(parse(0.6, 0.3), margin=0.2)
    assert not is_trusted(parse(0.9, 0.05), threshold=0.95)
    assert is_trusted(parse(0.6, 0.3), threshold=0.5, margin=0.2)


def test_a_parser_that_reports_no_gate_is_judged_by_the_default_gate() -> None:
    assert DEFAULT_GATE.trusts([0.55, 0.5]) is False
    assert not is_trusted(parse(0.55, 0.5, gate=None), threshold=0.5)
    assert is_trusted(parse(0.55, 0.5, gate=None), margin=0.0)
