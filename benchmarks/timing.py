"""Median timings: every figure is the median of `repeats` timed repetitions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

# a timed run and the (untimed) preparation that gives each repetition fresh inputs
Timed = tuple[Callable[[object], object], Callable[[], object]]


def median_seconds(run: Callable[[object], object], repeats: int,
                   prepare: Callable[[], object] = lambda: None) -> float:
    """Median wall seconds of `run(prepare())`."""
    return side_by_side({"run": (run, prepare)}, repeats)["run"]


def side_by_side(runs: dict[str, Timed], repeats: int) -> dict[str, float]:
    """Median wall seconds of each named `run(prepare())`. The runs take turns within every
    repetition, so a slow spell of a shared machine falls on all of them alike and their
    ratios stay fair."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, prepare) in runs.items():
            inputs = prepare()
            started = time.perf_counter()
            run(inputs)
            seconds[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in seconds.items()}
