"""The promotion gate: a retrained model serves only if it is not worse than the active one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

RANKER_METRIC = "ranker_hits_at_1"  # the hybrid fallback's ranker: Hits@1/20 on validation
# Hits@1/20 is a proportion over a few hundred validation groups: near 0.3 on 300 groups its
# standard error is about 0.026, so a smaller drop is sampling noise, not a worse ranker.
HITS_TOLERANCE = 0.03


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


def ranker_rule(candidate: float | None, served: float | None, tolerance: float) -> GateResult:
    """The candidate ranker's Hits@1/20 may be at most ``tolerance`` below the served one's;
    ``candidate`` is None when the served model has no ranker (so none was built)."""
    if candidate is None:
        return GateResult(True, (f"{RANKER_METRIC} skipped: the served model has no ranker",))
    if served is None:
        why = "the served ranker records no validation Hits@1"
        return GateResult(True, (f"{RANKER_METRIC} skipped: {why}",))
    return higher_is_better({RANKER_METRIC: candidate}, {RANKER_METRIC: served}, tolerance)


def combined(*results: GateResult) -> GateResult:
    """Passes only if every part passes; their checks in order."""
    checks = tuple(check for result in results for check in result.checks)
    return GateResult(all(result.passed for result in results), checks)
