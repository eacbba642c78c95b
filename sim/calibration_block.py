"""A scenario's `calibration:` block: which parameters are free, their ranges, and the observed
series the model is fitted to. Checked when the scenario loads (errors name file, line, key);
`run` and `compare` ignore it, `run.py calibrate` uses it.

    calibration:
      target:
        file: ../data/observed/us_overdose_deaths.csv   # relative to the declaring file
        column: synthetic_opioid_deaths_t404             # observed people/year
        metric: synthetic_opioid_deaths                  # model people/week, summed by year
        years: [2016, 2023]
      free:
        - {path: users.overdose_hazard_per_use, low: 5.0e-5, high: 3.0e-4, source: "..."}
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sim.params import TABLE
from sim.validation import Source, check_keys, check_number, fail, suggest

TARGET_KEYS = ("file", "column", "metric", "years")
FREE_KEYS = ("path", "low", "high", "source")


@dataclass(frozen=True)
class FreeParameter:
    """A parameter the fit may move, by dotted path, within [low, high] (its table unit)."""

    path: str
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class CalibrationSpec:
    """The free parameters and the observed annual series (`column` of `file`, per year) that
    the model's `metric` (weekly flow, summed over each calendar year) is fitted to."""

    free: tuple[FreeParameter, ...]
    file: Path
    column: str
    metric: str
    first_year: int
    last_year: int


def resolve_file(block, declaring_file: Path) -> None:
    """Make `target.file` relative to the scenario file that names it (before `extends`
    merges it into a child)."""
    target = block.get("target") if isinstance(block, dict) else None
    if isinstance(target, dict) and isinstance(target.get("file"), str):
        target["file"] = str(declaring_file.parent / target["file"])


def _metrics() -> list[str]:
    from sim.metrics import HOW  # here: sim.metrics imports Numba, which checking a file does not need

    return [m for m, how in HOW.items() if how == "sum"]


def _check_mapping(entry, keys: tuple, source: Source, path: tuple) -> None:
    """`entry` is a mapping with exactly `keys`."""
    if not isinstance(entry, dict):
        fail(source, path, f"expected a mapping of {', '.join(keys)}, got {entry!r}")
    check_keys(entry, keys, source, path)
    for key in keys:
        if key not in entry:
            fail(source, path + (key,), f"missing (give {', '.join(keys)})")


def _check_target(target, source: Source) -> tuple[Path, str, str, int, int]:
    path = ("calibration", "target")
    _check_mapping(target, TARGET_KEYS, source, path)
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
    if column not in header or "year" not in header:
        fail(source, path + ("column",), f"{file} has no column {column!r} beside 'year'. "
             + suggest(column, header).replace("valid keys", "its columns"))
    have = {int(r["year"]) for r in rows if r["year"].strip() and r[column].strip()}
    missing = [y for y in range(first, last + 1) if y not in have]
    if missing:
        fail(source, path + ("years",), f"{file} has no {column} for {missing}")
    return file, column, metric, first, last


def _check_free(free, source: Source) -> tuple[FreeParameter, ...]:
    valid = [f"{g}.{k}" for g, params in TABLE.items() for k, p in params.items()
             if isinstance(p.value, float)]
    if not isinstance(free, list) or not free:
        fail(source, ("calibration", "free"), "expected a non-empty list of {path, low, high, "
             "source}")
    out = []
    for i, entry in enumerate(free):
        here = ("calibration", "free", i)
        _check_mapping(entry, FREE_KEYS, source, here)
        name = entry["path"]
        if name not in valid:
            fail(source, here + ("path",), f"{name!r} is not a real-valued parameter. "
                 + suggest(name, valid).replace("valid keys", "valid parameters"))
        if name in (p.path for p in out):
            fail(source, here + ("path",), f"{name} is listed twice")
        group, key = name.split(".")
        p = TABLE[group][key]
        low = check_number(entry["low"], float, source, here + ("low",), p.low, p.high)
        high = check_number(entry["high"], float, source, here + ("high",), p.low, p.high)
        if high <= low:
            fail(source, here + ("high",), f"expected high > low ({low}), got {high}")
        if not isinstance(entry["source"], str) or not entry["source"].strip():
            fail(source, here + ("source",), "expected text: where the range comes from, or "
                 "'assumption'")
        out.append(FreeParameter(name, low, high, entry["source"]))
    return tuple(out)


def check_calibration(block, source: Source) -> CalibrationSpec | None:
    """Validate a merged `calibration:` block; None when the scenario has none."""
    if block is None:
        return None
    if not isinstance(block, dict):
        fail(source, ("calibration",), "expected a mapping with 'target' and 'free'")
    check_keys(block, ("target", "free"), source, ("calibration",))
    file, column, metric, first, last = _check_target(block.get("target"), source)
    free = _check_free(block.get("free"), source)
    return CalibrationSpec(free, file, column, metric, first, last)
