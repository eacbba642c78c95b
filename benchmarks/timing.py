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
    repetition, starting one later each time, so a slow spell of a shared machine, or a cache
    warmed by the run before, falls on all of them alike and their ratios stay fair."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repetition in range(repeats):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            run, prepare = runs[name]
            inputs = prepare()
            started = time.perf_counter()
            run(inputs)
            seconds[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in seconds.items()}
