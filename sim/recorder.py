"""Weekly series in preallocated arrays, read back like Mesa's DataCollector (`Recorder`), and
Mesa's DataCollector itself over them (`WeeklyCollector`), for `mesa.batch_run` and notebooks."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np
import pandas as pd


class Recorder:
    """One float64 array per column, one row per week, allocated for the horizon up front
    (grown by doubling if a model is stepped past it, as a live classroom model may be)."""

    def __init__(self, columns: list[str], weeks: int, start: dt.date):
        self.columns, self.start, self.rows = list(columns), start, 0
        self._data = np.full((len(self.columns), max(1, weeks)), np.nan)
        self._index = {name: i for i, name in enumerate(self.columns)}
        self._places: dict | None = None   # key of the week's values -> its column(s)

    def record(self, step: int, values: dict[str, float | np.ndarray]) -> None:
        """The week's values: one per column, or, for a block of columns named by one prefix
        (`route_share_`...), an array keyed by the prefix, in column order. Every week's values
        must have the same keys and fill every column."""
        places = self._places
        if places is None or places.keys() != values.keys():
            places = self._places = self._locate(values)
        column = self.claim(step)[:, step]
        for key, value in values.items():
            column[places[key]] = value

    def claim(self, step: int) -> np.ndarray:
        """The table (column, week) whose column `step` the caller fills with the week's values
        (as `record` does), grown if a model is stepped past it; the week counts as recorded."""
        if step >= self._data.shape[1]:
            grown = np.full((len(self.columns), 2 * self._data.shape[1]), np.nan)
            grown[:, : self._data.shape[1]] = self._data
            self._data = grown
        self.rows = step + 1
        return self._data

    def places(self, keys: tuple[str, ...]) -> np.ndarray:
        """Each key's column, or the first column of the block a prefix names (int64), for
        values written straight into `claim`'s table; the keys must fill every column once."""
        places = self._locate(dict.fromkeys(keys))
        return np.array([p.start if isinstance(p, slice) else p for p in places.values()],
                        np.int64)

    def _locate(self, values: dict) -> dict:
        """Where each key's values go: a column index, or the slice of a prefix's columns."""
        places = {}
        for key in values:
            if key in self._index:
                places[key] = self._index[key]
                continue
            block = [i for i, name in enumerate(self.columns) if name.startswith(key)]
            if not block or block != list(range(block[0], block[-1] + 1)):
                raise KeyError(f"{key!r} is neither a column nor a prefix of adjacent columns")
            places[key] = slice(block[0], block[-1] + 1)
        covered = sorted(i for place in places.values() for i in (
            range(place.start, place.stop) if isinstance(place, slice) else [place]))
        if covered != list(range(len(self.columns))):
            missing = sorted(set(self.columns) - {self.columns[i] for i in covered})
            raise KeyError(f"the week's values do not fill every column once (missing: "
                           f"{missing[:5]})")
        return places

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


class WeeklyCollector(mesa.DataCollector):
    """Mesa's DataCollector over a `Recorder`: `date` and every output column are model
    reporters, by name, and `model_vars[name]` holds one value per week stepped (index = step),
    filled by the model's record phase from preallocated arrays (a Python reporter per column
    and week would cost more than the week's kernels). `collect` has nothing left to do."""

    def __init__(self, recorder: Recorder):
        self.recorder = None   # while Mesa's constructor registers the reporters
        names = ["date", *recorder.columns]
        super().__init__(model_reporters={name: self._reporter(name) for name in names})
        self.recorder = recorder

    @staticmethod
    def _reporter(name: str):
        return lambda model: model.datacollector.model_vars[name][-1]

    @property
    def model_vars(self) -> dict:
        rec = self.recorder
        if rec is None:
            return {}
        dates = np.array(rec.dates(), dtype="datetime64[ns]")
        return {"date": dates, **{name: rec.series(name) for name in rec.columns}}

    @model_vars.setter
    def model_vars(self, _value) -> None:
        """Mesa's constructor sets an empty dict; the values live in the recorder."""

    def collect(self, model) -> None:
        """Nothing to do: the week's row is recorded by the model's `record` phase."""
