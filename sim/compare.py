"""Paired comparison of scenarios: per-replicate totals, intervals, and differences against the
first scenario (replicate r of every scenario shares its seed, so differences are paired)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from sim.metrics import HOW, UNITS
from sim.validation import ScenarioError

DEFAULT_METRICS = ("overdose_deaths", "synthetic_opioid_deaths", "fentanyl_to_us_kg",
                   "fentanyl_seized_kg", "fentanyl_seized_gross_kg",
                   "fentanyl_seized_mx_kg", "precursor_shipped_kg", "retail_price_usd_per_mg",
                   "china_cooperation", "cartel_revenue_usd", "users_in_treatment")
LOW, HIGH = 5, 95
HEADLINE = "overdose_deaths"   # the metric of the headline: deaths averted
# with fewer replicates the 5-95% range of replicates is in effect their minimum and maximum
# (the 5th percentile of n values lies below the second lowest while n < 21), and the Student t
# interval of the mean leans on the differences being near normal
MIN_REPLICATES = 20


@dataclass(frozen=True)
class Window:
    """A date range [start, end) for totals; `label` names it in the table."""

    label: str
    start: dt.date | None = None
    end: dt.date | None = None

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(frame), bool)
        if self.start is not None:
            keep &= frame["date"] >= self.start.isoformat()
        if self.end is not None:
            keep &= frame["date"] < self.end.isoformat()
        return frame[keep]


def parse_window(text: str, start: dt.date, end: dt.date) -> Window:
    """`2025-01:2030-12` -> the months January 2025 to December 2030 inclusive, which must hold
    at least one weekly row of the run (Mondays from `start`, before `end`)."""
    try:
        first, last = text.split(":")
        begin = dt.date.fromisoformat(first + "-01")
        month = dt.date.fromisoformat(last + "-01")
    except ValueError:
        raise ScenarioError(f"--window: expected YYYY-MM:YYYY-MM, got '{text}'") from None
    stop = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    if stop <= begin:
        raise ScenarioError(f"--window: {text}: the end is before the start")
    if begin >= end or stop <= start:
        raise ScenarioError(f"--window: {text} is outside the run ({start} to {end})")
    first_row = start + dt.timedelta(weeks=max(0, -(-(begin - start).days // 7)))
    if first_row >= min(stop, end):
        raise ScenarioError(f"--window: {text} holds no week of the run (weekly rows on Mondays "
                            f"from {start} to {end - dt.timedelta(weeks=1)})")
    return Window(f"{first}..{last}", begin, stop)


def total(frame: pd.DataFrame, metric: str) -> float:
    """A run's total of a metric: the sum of a weekly flow, the mean of a level or share."""
    values = frame[metric]
    return float(values.sum() if HOW.get(metric, "mean") == "sum" else values.mean())


def replicate_totals(frames: dict[str, list[pd.DataFrame]], metrics, window: Window
                     ) -> dict[str, dict[str, np.ndarray]]:
    """totals[scenario][metric] = array over replicates (in replicate order)."""
    return {name: {m: np.array([total(window.select(f), m) for f in runs]) for m in metrics}
            for name, runs in frames.items()}


def comparison_table(frames: dict[str, list[pd.DataFrame]], metrics, windows: list[Window]
                     ) -> pd.DataFrame:
    """One row per window, scenario and metric: median and 5-95% interval of the per-replicate
    total; the paired difference against the first scenario (mean, median, 5-95% interval of
    replicates) and a 95% confidence interval of the mean difference (Student t), which
    narrows as replicates are added; `prob_lower`, the share of paired replicates in which the
    scenario's total is below the first's."""
    rows = []
    first = next(iter(frames))
    for window in windows:
        totals = replicate_totals(frames, metrics, window)
        for name in frames:
            for metric in metrics:
                values = totals[name][metric]
                diff = values - totals[first][metric]
                rows.append({
                    "window": window.label, "scenario": name, "metric": metric,
                    "unit": UNITS.get(metric, ""), "how": HOW.get(metric, "mean"),
                    "replicates": values.size, "median": np.median(values),
                    "p5": np.percentile(values, LOW), "p95": np.percentile(values, HIGH),
                    "diff_mean": diff.mean(), "diff_median": np.median(diff),
                    "diff_p5": np.percentile(diff, LOW), "diff_p95": np.percentile(diff, HIGH),
                    **dict(zip(("diff_ci95_low", "diff_ci95_high"), mean_ci(diff),
                               strict=True)),
                    "prob_lower": float(np.mean(diff < 0)),
                })
    return pd.DataFrame(rows)


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the mean (Student t); a point if there is one value or none
    vary."""
    mean = float(np.mean(values))
    if values.size < 2 or np.all(values == values[0]):
        return mean, mean
    # scipy.stats.t.ppf and scipy.stats.sem, as they compute them (the same values, without
    # the 0.2 s import of scipy.stats in every process that reads a run)
    standard_error = np.std(values, ddof=1) / values.size**0.5
    half = stdtrit(values.size - 1, 0.5 + level / 2) * standard_error
    return mean - half, mean + half


def weekly_bands(runs: list[pd.DataFrame], metric: str) -> pd.DataFrame:
    """Median and 5-95% band of a metric, week by week, across replicates."""
    values = np.vstack([f[metric].to_numpy() for f in runs])
    return pd.DataFrame({"date": pd.to_datetime(runs[0]["date"]),
                         "median": np.median(values, axis=0),
                         "low": np.percentile(values, LOW, axis=0),
                         "high": np.percentile(values, HIGH, axis=0)})
