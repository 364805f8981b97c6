"""The readiness rule for the stream: a backlog whose committed offset does not move."""

from __future__ import annotations

from router.intake_progress import ProgressWatch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_backlog_with_a_committed_offset_that_does_not_move_stalls() -> None:
    clock = Clock()
    watch = ProgressWatch(30, clock)
    assert watch.look({"p0": (10, 50)}) == []
    clock.now = 20
    assert watch.look({"p0": (10, 50)}) == []
    clock.now = 31
    assert watch.look({"p0": (10, 50)}) == [("p0", 31)]


def test_moving_offsets_or_no_backlog_never_stall() -> None:
    clock = Clock()
    watch = ProgressWatch(30, clock)
    for step in range(10):
        clock.now = step * 20.0
        assert watch.look({"moving": (step, 100), "idle": (7, 7), "unknown": (None, None)}) == []


def test_a_partition_handed_to_another_worker_is_forgotten() -> None:
    clock = Clock()
    watch = ProgressWatch(30, clock)
    watch.look({"p0": (10, 50)})
    clock.now = 40
    assert watch.look({}) == []
    assert watch.look({"p0": (10, 50)}) == []  # back here: its clock starts again
