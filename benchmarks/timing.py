"""Median timings: every figure is the median of `repeats` timed repetitions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(run: Callable[[object], object], repeats: int,
                   prepare: Callable[[], object] = lambda: None) -> float:
    """Median wall seconds of `run(prepare())`; `prepare` (untimed) gives each repetition fresh
    inputs."""
    seconds = []
    for _ in range(repeats):
        inputs = prepare()
        started = time.perf_counter()
        run(inputs)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)
