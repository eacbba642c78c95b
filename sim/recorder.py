"""Weekly series in preallocated arrays, read back like Mesa's DataCollector."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


class Recorder:
    """One float64 array per column, one row per week, allocated for the horizon up front
    (grown by doubling if a model is stepped past it, as a live classroom model may be)."""

    def __init__(self, columns: list[str], weeks: int, start: dt.date):
        self.columns, self.start, self.rows = list(columns), start, 0
        self._data = np.full((len(self.columns), max(1, weeks)), np.nan)

    def record(self, step: int, values: dict[str, float]) -> None:
        if step >= self._data.shape[1]:
            grown = np.full((len(self.columns), 2 * self._data.shape[1]), np.nan)
            grown[:, : self._data.shape[1]] = self._data
            self._data = grown
        for i, name in enumerate(self.columns):
            self._data[i, step] = values[name]
        self.rows = step + 1

    def series(self, name: str) -> np.ndarray:
        """One column's values, one per recorded week (a view: do not modify)."""
        return self._data[self.columns.index(name), : self.rows]

    def dates(self) -> list[dt.date]:
        """Each recorded week's Monday."""
        return [self.start + dt.timedelta(weeks=w) for w in range(self.rows)]

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per week: step, date (ISO, the week's Monday), then every column."""
        frame = pd.DataFrame(self._data[:, : self.rows].T, columns=self.columns)
        frame.insert(0, "date", [d.isoformat() for d in self.dates()])
        frame.insert(0, "step", np.arange(self.rows))
        return frame
