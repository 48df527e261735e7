"""How much work one query may do: a result-size cap and a step budget.

Flows in: ``Limits`` from the caller (the gateway reads them from settings).
Flows out: ``Budget``, which the evaluator charges for every element it fetches,
visits or emits; exceeding either limit raises ``QueryError``. The budget bounds a
query's time deterministically, without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from topolog.core.query.errors import QueryError


@dataclass(frozen=True, slots=True)
class Limits:
    max_results: int = 100_000
    """Most elements (or values, or paths) a result may hold."""
    max_steps: int = 5_000_000
    """Most units of work: one per element fetched, edge followed or element emitted."""


class Budget:
    """The remaining work allowance of one evaluation."""

    __slots__ = ("limits", "position", "used")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = 0
        self.position: int | None = None  # column of the step being evaluated

    def spend(self, units: int) -> None:
        self.used += units
        if self.used > self.limits.max_steps:
            raise QueryError(
                f"the query needs more than {self.limits.max_steps} steps of work; "
                "narrow it with Has() or Limit()",
                self.position,
            )

    def check_result(self, size: int) -> None:
        if size > self.limits.max_results:
            raise QueryError(
                f"the result has {size} elements, more than the limit of "
                f"{self.limits.max_results}; narrow it with Has() or Limit()"
            )
