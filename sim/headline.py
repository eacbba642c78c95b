"""The headline of a comparison: for each scenario against the first, the deaths it averts (or
adds) over the window, in numbers and in words, marked *not robust* where the 95% interval of
the mean crosses zero. The report opens with it and `run.py compare` prints it at the end."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sim.compare import HEADLINE, MIN_REPLICATES


def rounded(value: float, digits: int = 3) -> str:
    """A number to `digits` significant digits, with thousands separators (147,213 ->
    '147,000'; 12.34 -> '12.3')."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) < 100:
        return f"{value:,.{digits}g}"
    places = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, places):,.0f}"


@dataclass(frozen=True)
class Headline:
    """Deaths averted by `scenario` against `first` over `window` (people; positive: fewer
    deaths), per paired replicate: the mean and its 95% interval (Student t), the median, and
    the share of paired replicates with fewer deaths. The mean leads: it is what the interval
    is of (paired differences are often skewed, and a median can then lie outside the mean's
    interval)."""

    scenario: str
    first: str
    window: str
    replicates: int
    mean: float
    median: float
    low: float
    high: float
    prob_lower: float

    @property
    def robust(self) -> bool:
        """The 95% interval of the mean does not reach zero (one replicate gives no interval)."""
        return self.replicates > 1 and (self.low > 0 or self.high < 0)

    def interval(self) -> str:
        low, high = self.low, self.high
        if self.replicates < 2:
            return "none from one replicate"
        if low >= 0:
            return f"{rounded(low)} to {rounded(high)}"
        if high <= 0:
            return f"{rounded(-high)} to {rounded(-low)} added"
        return f"{rounded(-low)} added to {rounded(high)} averted"

    def words(self) -> str:
        verb = "averts" if self.mean >= 0 else "adds"
        lower = round(self.prob_lower * self.replicates)
        median = (f"{rounded(self.median)} averted" if self.median >= 0
                  else f"{rounded(-self.median)} added")
        text = (f"{self.scenario} {verb} {rounded(abs(self.mean))} deaths on average against "
                f"{self.first} ({self.window}), 95% interval of the mean {self.interval()}; "
                f"median {median}; deaths are lower in {lower} of {self.replicates} paired "
                f"replicates ({self.prob_lower:.0%})")
        if self.replicates < 2:
            return text + " - not robust: one replicate gives no interval"
        return text + ("" if self.robust else " - not robust: the interval crosses zero")


def headlines(table: pd.DataFrame) -> list[Headline]:
    """The headline of each scenario but the first, over the table's last window (the one asked
    for with --window, else the whole horizon)."""
    window = table["window"].iloc[-1]
    rows = table[(table["window"] == window) & (table["metric"] == HEADLINE)]
    first = rows["scenario"].iloc[0]
    return [Headline(r.scenario, first, window, int(r.replicates), -r.diff_mean,
                     -r.diff_median, -r.diff_ci95_high, -r.diff_ci95_low, float(r.prob_lower))
            for r in rows.iloc[1:].itertuples()]


COLUMNS = ("scenario", "deaths averted (mean)", "95% interval of the mean",
           "median of replicates", "probability deaths are lower", "robust?")


def cells(headline: Headline) -> list[str]:
    """The headline as a row of `COLUMNS`."""
    return [headline.scenario, rounded(headline.mean), headline.interval(),
            rounded(headline.median), f"{headline.prob_lower:.0%}",
            "yes" if headline.robust else "not robust"]


def too_few(replicates: int) -> str | None:
    """The warning for a study of `replicates` paired replicates, or None when they are enough."""
    if replicates >= MIN_REPLICATES:
        return None
    return (f"Only {replicates} replicate{'s' if replicates != 1 else ''} per scenario: the 5-95% "
            "ranges of replicates are in effect their lowest and highest values, and the 95% "
            "intervals of the mean lean on the differences being near normal. Use "
            f"--replicates {MIN_REPLICATES} or more.")


def terminal_text(table: pd.DataFrame) -> str:
    """What `run.py compare` prints at the end: the headline table and its words."""
    rows = headlines(table)
    if not rows:
        return ""
    first = rows[0]
    lines = [f"Deaths averted against {first.first}, {first.window} (people; positive: fewer "
             f"deaths; {first.replicates} paired replicates)"]
    widths = [max(len(c), *(len(cells(h)[i]) for h in rows)) for i, c in enumerate(COLUMNS)]
    for row in [list(COLUMNS)] + [cells(h) for h in rows]:
        lines.append("  ".join(text.ljust(w) if i == 0 else text.rjust(w)
                               for i, (text, w) in enumerate(zip(row, widths, strict=True))))
    lines += [""] + [h.words() for h in rows]
    warning = too_few(first.replicates)
    return "\n".join(lines + ([f"\nwarning: {warning}"] if warning else []))
