"""A scenario's `calibration:` block: which parameters are free, their ranges, and the observed
series the model is fitted to. Checked when the scenario loads (errors name file, line, key);
`run` and `compare` ignore it, `run.py calibrate` uses it.

    calibration:
      targets:                                           # or `target:` with one of them
        - file: ../data/observed/us_overdose_deaths.csv  # relative to the declaring file
          column: synthetic_opioid_deaths_t404            # observed people/year
          metric: synthetic_opioid_deaths                 # model people/week, summed by year
          years: [2016, 2023]
        - file: ../data/observed/cbp_fentanyl_seizures.csv
          column: fentanyl_seized_kg                      # observed kg/fiscal year
          metric: fentanyl_seized_gross_kg                # model kg/week, summed by fiscal year
          years: [2017, 2023]
          period: fiscal                                  # October-September; file column fiscal_year
          scale: 0.25                                     # log error counted as one unit (default 1)
      free:
        - {path: users.overdose_hazard_per_use, low: 5.0e-5, high: 3.0e-4, source: "..."}
      priors:                   # `calibrate --method posterior` only: sampled with `free`
        - {path: cartels.supplier_search_prob, low: 0.5, high: 8.0, source: "..."}
        - {path: policies.*.institute_penalty, low: 0.1, high: 0.7, source: "..."}
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sim.parameter_paths import parameter_range
from sim.validation import Source, check_keys, check_number, fail, suggest

TARGET_KEYS = ("file", "column", "metric", "years")
OPTIONAL_TARGET_KEYS = ("period", "scale")
FREE_KEYS = ("path", "low", "high", "source")
PERIODS = {"calendar": "year", "fiscal": "fiscal_year"}   # period -> the file's year column
FISCAL_YEAR_FIRST_MONTH = 10   # US federal fiscal year Y runs October Y-1 to September Y


@dataclass(frozen=True)
class Target:
    """An observed annual series (`column` of `file`, one value per year or fiscal year) that
    the model's `metric` (a weekly flow, summed over each year of the same kind) is fitted to."""

    file: Path
    column: str
    metric: str
    first_year: int
    last_year: int
    period: str = "calendar"
    scale: float = 1.0   # the log error that counts as one unit in the objective


    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def year_column(self) -> str:
        return PERIODS[self.period]

    def year_of(self, day: dt.date) -> int:
        """The calendar or fiscal year (named by the year it ends in) that `day` falls in."""
        return day.year + (self.period == "fiscal" and day.month >= FISCAL_YEAR_FIRST_MONTH)

    @property
    def label(self) -> str:
        kind = "FY" if self.period == "fiscal" else ""
        return f"{self.metric} against {self.column}, {kind}{self.first_year}-{kind}{self.last_year}"


@dataclass(frozen=True)
class FreeParameter:
    """A parameter the fit may move, by dotted path (`sim.parameter_paths`), within [low, high]
    (its table or policy field unit); the posterior's prior is uniform over [low, high]."""

    path: str
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class CalibrationSpec:
    """The free parameters and the observed series the model is fitted to, together; the
    posterior also samples `priors`."""

    free: tuple[FreeParameter, ...]
    targets: tuple[Target, ...]
    priors: tuple[FreeParameter, ...] = ()

    @property
    def sampled(self) -> tuple[FreeParameter, ...]:
        """What the posterior is over: the free parameters, then the priors."""
        return self.free + self.priors

    @property
    def last_year(self) -> int:
        """The last calendar year any target needs (a fiscal year ends within its own)."""
        return max(t.last_year for t in self.targets)


def _declared_targets(block) -> list:
    if not isinstance(block, dict):
        return []
    if isinstance(block.get("target"), dict):
        return [block["target"]]
    targets = block.get("targets")
    return [t for t in targets if isinstance(t, dict)] if isinstance(targets, list) else []


def resolve_file(block, declaring_file: Path) -> None:
    """Make each target's `file` relative to the scenario file that names it (before
    `extends` merges it into a child)."""
    for target in _declared_targets(block):
        if isinstance(target.get("file"), str):
            target["file"] = str(declaring_file.parent / target["file"])


def _metrics() -> list[str]:
    from sim.metrics import HOW  # here: sim.metrics imports Numba, which checking a file does not need

    return [m for m, how in HOW.items() if how == "sum"]


def _check_mapping(entry, keys: tuple, source: Source, path: tuple, optional: tuple = ()) -> None:
    """`entry` is a mapping with exactly `keys`, and perhaps some of `optional`."""
    if not isinstance(entry, dict):
        fail(source, path, f"expected a mapping of {', '.join(keys)}, got {entry!r}")
    check_keys(entry, keys + optional, source, path)
    for key in keys:
        if key not in entry:
            fail(source, path + (key,), f"missing (give {', '.join(keys)})")


def _check_target(target, source: Source, path: tuple) -> Target:
    _check_mapping(target, TARGET_KEYS, source, path, OPTIONAL_TARGET_KEYS)
    period = target.get("period", "calendar")
    if period not in PERIODS:
        fail(source, path + ("period",), f"expected one of {', '.join(PERIODS)}, got {period!r}")
    year_column = PERIODS[period]
    scale = check_number(target.get("scale", 1.0), float, source, path + ("scale",), 1e-3, 1e3)
    file = Path(target["file"]) if isinstance(target["file"], str) else None
    if file is None or not file.is_file():
        fail(source, path + ("file",), f"expected an existing CSV file, got {target['file']!r}")
    metric = target["metric"]
    if metric not in _metrics():
        fail(source, path + ("metric",), f"unknown metric {metric!r} (a weekly flow). "
             + suggest(metric, _metrics()).replace("valid keys", "valid metrics"))
    years = target["years"]
    if not (isinstance(years, list) and len(years) == 2):
        fail(source, path + ("years",), f"expected [first, last], e.g. [2016, 2023], got {years!r}")
    first, last = (check_number(y, int, source, path + ("years",), 1990, 2100) for y in years)
    if last < first:
        fail(source, path + ("years",), f"the last year {last} is before the first {first}")
    with open(file, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    column = target["column"]
    header = list(rows[0]) if rows else []
    if year_column not in header:
        fail(source, path + ("period",), f"{file} has no column {year_column!r} (a {period} "
             f"target reads its years from {year_column!r})")
    if column not in header:
        fail(source, path + ("column",), f"{file} has no column {column!r} beside "
             f"{year_column!r}. " + suggest(column, header).replace("valid keys", "its columns"))
    have = {int(r[year_column]) for r in rows if r[year_column].strip() and r[column].strip()}
    missing = [y for y in range(first, last + 1) if y not in have]
    if missing:
        fail(source, path + ("years",), f"{file} has no {column} for {missing}")
    return Target(file, column, metric, first, last, period, scale)


def _check_targets(block, source: Source) -> tuple[Target, ...]:
    """`target:` (one) or `targets:` (a list), not both."""
    if ("target" in block) == ("targets" in block):
        fail(source, ("calibration",), "expected either 'target' (one observed series) or "
             "'targets' (a list of them)")
    if "target" in block:
        return (_check_target(block["target"], source, ("calibration", "target")),)
    targets = block["targets"]
    if not isinstance(targets, list) or not targets:
        fail(source, ("calibration", "targets"), "expected a non-empty list of {file, column, "
             "metric, years}")
    checked = [_check_target(t, source, ("calibration", "targets", i))
               for i, t in enumerate(targets)]
    seen = set()
    for i, t in enumerate(checked):
        if (t.metric, t.period) in seen:
            fail(source, ("calibration", "targets", i, "metric"), f"{t.metric} is fitted twice "
                 f"per {t.period} year")
        seen.add((t.metric, t.period))
    return tuple(checked)


def _check_free(free, source: Source, key: str = "free", policies=(), taken=()
                ) -> tuple[FreeParameter, ...]:
    """`free:` (table parameters) or `priors:` (also policy fields, `sim.parameter_paths`)."""
    if not isinstance(free, list) or not free:
        fail(source, ("calibration", key), "expected a non-empty list of {path, low, high, "
             "source}")
    out = []
    for i, entry in enumerate(free):
        here = ("calibration", key, i)
        _check_mapping(entry, FREE_KEYS, source, here)
        name = entry["path"]
        if not isinstance(name, str) or (key == "free" and name.startswith("policies.")):
            fail(source, here + ("path",), f"{name!r} is not a real-valued parameter of the "
                 "table (a policy's field can be a prior, under priors:)")
        try:
            least, most = parameter_range(name, policies)
        except ValueError as err:
            fail(source, here + ("path",), str(err))
        if name in (p.path for p in out) or name in taken:
            fail(source, here + ("path",), f"{name} is listed twice"
                 + (" (also under free:)" if name in taken else ""))
        low = check_number(entry["low"], float, source, here + ("low",), least, most)
        high = check_number(entry["high"], float, source, here + ("high",), least, most)
        if high <= low:
            fail(source, here + ("high",), f"expected high > low ({low}), got {high}")
        if not isinstance(entry["source"], str) or not entry["source"].strip():
            fail(source, here + ("source",), "expected text: where the range comes from, or "
                 "'assumption'")
        out.append(FreeParameter(name, low, high, entry["source"]))
    return tuple(out)


def check_calibration(block, source: Source, policies=()) -> CalibrationSpec | None:
    """Validate a merged `calibration:` block (`policies`: the scenario's, which `priors:` may
    name fields of); None when the scenario has none."""
    if block is None:
        return None
    if not isinstance(block, dict):
        fail(source, ("calibration",), "expected a mapping with 'targets' and 'free'")
    check_keys(block, ("target", "targets", "free", "priors"), source, ("calibration",))
    targets = _check_targets(block, source)
    free = _check_free(block.get("free"), source)
    priors = (_check_free(block["priors"], source, "priors", policies, [p.path for p in free])
              if "priors" in block else ())
    return CalibrationSpec(free, targets, priors)
