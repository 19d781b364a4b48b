"""The promotion gate: a retrained model serves only if it is not worse than the active one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    return _compare(candidate, active, lambda old: old * (1 + margin), lower=True, digits=2)


def higher_is_better(
    candidate: Mapping[str, float | None],
    active: Mapping[str, float | None] | None,
    margin: float,
) -> GateResult:
    """Pass if every metric both have is at most ``margin`` (absolute) below the active's.

    Used for accuracies and recalls, which are proportions: an absolute margin reads plainly.
    """
    return _compare(candidate, active, lambda old: old - margin, lower=False, digits=3)


def _compare(
    candidate: Mapping[str, float | None],
    active: Mapping[str, float | None] | None,
    limit_of: Callable[[float], float],
    *,
    lower: bool,
    digits: int,
) -> GateResult:
    """Each metric both have against its limit from the active value, in words."""
    if active is None:
        return GateResult(True, ("no active model to compare with",))
    checks, passed = [], True
    for name in sorted(candidate):
        new, old = candidate[name], active.get(name)
        if new is None or old is None:
            continue
        limit = limit_of(old)
        ok = new <= limit if lower else new >= limit
        passed &= ok
        sign = ("<=" if ok else ">") if lower else (">=" if ok else "<")
        new_s, limit_s, old_s = (f"{v:.{digits}f}" for v in (new, limit, old))
        checks.append(f"{name} {new_s} {sign} {limit_s} (active {old_s})")
    if not checks:
        return GateResult(True, ("no metric in common with the active model",))
    return GateResult(passed, tuple(checks))
