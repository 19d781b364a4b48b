"""Exceptions raised by the nlu package, all subclasses of ``NLUError``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding in a data file: where it is and what is wrong, in plain words."""

    file: str
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.severity}: {self.message}"


class NLUError(Exception):
    """Base class of every error the nlu package raises on purpose."""


class DataError(NLUError):
    """Training data that cannot be used; ``problems`` lists each finding with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the training data:\n{lines}")


class ModelNotFoundError(NLUError):
    """The model directory is missing or holds no threadbot NLU model."""
