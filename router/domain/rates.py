"""The three rates (三率) a unit is judged on, from counts of ticket outcomes.

- 响应率 (responded): signed for and first contact made within their targets, over the
  tickets whose response is decided (made, or already late).
- 解决率 (solved): solved by the citizen's word at the callback, over the tickets called back
  and, with `count_open_overdue`, the unresolved tickets already past their resolution target.
- 满意率 (satisfied): 满意 counts 1 and 基本满意 `basically_satisfied_weight`, over the tickets
  rated and, likewise, the unresolved overdue ones.
A rate with nothing to count is None, not 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDefinitions:
    basically_satisfied_weight: float = 0.8
    count_open_overdue: bool = True
    metrics_period_days: int = 30


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """What happened to one group of tickets (a unit, a category, all) over a period."""

    tickets: int = 0
    responded_in_time: int = 0
    responded_late: int = 0  # late, or past the target without a response yet
    solved: int = 0
    not_solved: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    open_overdue: int = 0  # unresolved, never called back, past the resolution target

    def __add__(self, other: OutcomeCounts) -> OutcomeCounts:
        return OutcomeCounts(*(a + b for a, b in zip(_values(self), _values(other),
                                                     strict=True)))


def _values(counts: OutcomeCounts) -> tuple[int, ...]:
    return (counts.tickets, counts.responded_in_time, counts.responded_late, counts.solved,
            counts.not_solved, counts.satisfied, counts.basically_satisfied,
            counts.unsatisfied, counts.open_overdue)


@dataclass(frozen=True, slots=True)
class ThreeRates:
    response: float | None
    resolution: float | None
    satisfaction: float | None


def three_rates(counts: OutcomeCounts, definitions: RateDefinitions) -> ThreeRates:
    overdue = counts.open_overdue if definitions.count_open_overdue else 0
    rated = counts.satisfied + counts.basically_satisfied + counts.unsatisfied
    return ThreeRates(
        response=_ratio(counts.responded_in_time,
                        counts.responded_in_time + counts.responded_late),
        resolution=_ratio(counts.solved, counts.solved + counts.not_solved + overdue),
        satisfaction=_ratio(counts.satisfied
                            + definitions.basically_satisfied_weight
                            * counts.basically_satisfied, rated + overdue))


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
