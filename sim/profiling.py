"""Wall-clock time per phase of the model's week, so a user can see where a run's time goes."""

from __future__ import annotations

import time


class PhaseClock:
    """Seconds spent in each phase, summed over the weeks run; `lap(phase)` closes a phase.

    A model times its phases with one when `model.clock` is set to it (`run.py profile` does);
    its laps add a few microseconds a week.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def start(self) -> None:
        """Start timing from now (call at the top of the week)."""
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Charge the time since the last lap (or start) to `phase`."""
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now

    def table(self, weeks: int) -> str:
        """A text table: seconds, milliseconds per week and share of the total, per phase."""
        total = sum(self.seconds.values()) or 1e-12
        lines = [f"{'phase':<20} {'total_s':>9} {'ms_per_week':>12} {'share':>7}"]
        for phase, seconds in self.seconds.items():
            lines.append(f"{phase:<20} {seconds:>9.2f} {1e3 * seconds / max(weeks, 1):>12.3f} "
                         f"{seconds / total:>7.1%}")
        lines.append(f"{'all':<20} {total:>9.2f} {1e3 * total / max(weeks, 1):>12.3f} {1:>7.1%}")
        return "\n".join(lines)
