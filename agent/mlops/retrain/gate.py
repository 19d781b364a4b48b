"""The promotion gate: a retrained model serves only if it is not worse than the active one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateResult:
    """Whether the candidate may be promoted, and each comparison in words."""

    passed: bool
    checks: tuple[str, ...]

    def summary(self) -> str:
        """One line for logs, the CLI and the registry."""
        verdict = "passed" if self.passed else "refused"
        return f"{verdict}: " + "; ".join(self.checks)


def lower_is_better(
    candidate: Mapping[str, float | None],
    active: Mapping[str, float | None] | None,
    margin: float,
) -> GateResult:
    """Pass if every metric both have is at most ``margin`` (a fraction) above the active's.

    Used for perplexities, which are ratios: a relative margin means the same on any corpus.
    """
    if active is None:
        return GateResult(True, ("no active model to compare with",))
    checks, passed = [], True
    for name in sorted(candidate):
        new, old = candidate[name], active.get(name)
        if new is None or old is None:
            continue
        limit = old * (1 + margin)
        ok = new <= limit
        passed &= ok
        checks.append(f"{name} {new:.2f} {'<=' if ok else '>'} {limit:.2f} (active {old:.2f})")
    if not checks:
        return GateResult(True, ("no metric in common with the active model",))
    return GateResult(passed, tuple(checks))


def higher_is_better(
    candidate: Mapping[str, float | None],
    active: Mapping[str, float | None] | None,
    margin: float,
) -> GateResult:
    """Pass if every metric both have is at most ``margin`` (absolute) below the active's.

    Used for accuracies and recalls, which are proportions: an absolute margin reads plainly.
    """
    if active is None:
        return GateResult(True, ("no active model to compare with",))
    checks, passed = [], True
    for name in sorted(candidate):
        new, old = candidate[name], active.get(name)
        if new is None or old is None:
            continue
        limit = old - margin
        ok = new >= limit
        passed &= ok
        checks.append(f"{name} {new:.3f} {'>=' if ok else '<'} {limit:.3f} (active {old:.3f})")
    if not checks:
        return GateResult(True, ("no metric in common with the active model",))
    return GateResult(passed, tuple(checks))
