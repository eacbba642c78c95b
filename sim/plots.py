"""PNG figures of a run's weekly series, with policy start dates marked and labelled."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# Text in figures is drawn as written: labels come from scenario files, and a policy label with
# `$` in it must not be parsed as mathtext (which fails, or shows something else).
PLAIN_TEXT = {"text.parse_math": False}

PANELS = (
    ("overdose_deaths", "Overdose deaths (people/week)"),
    ("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg pure/week)"),
    (("fentanyl_seized_kg", "fentanyl_seized_mx_kg"), "Fentanyl seized (kg pure/week): US, Mexico"),
    ("retail_price_usd_per_mg", "Retail price (US$/mg pure)"),
    ("china_cooperation", "China's cooperation with the US (0-1)"),
    (("users_active", "users_in_treatment"), "People using; in treatment"),
    ("precursor_shipped_kg", "Precursor shipped (kg/week)"),
    ("unscheduled_precursor_share", "Unscheduled share of precursor shipped"),
    ("active_precursor_makers", "Active precursor makers (firms)"),
)


def _mark_policies(ax, markers: list[tuple[dt.date, str]], label: bool) -> None:
    for number, (day, _) in enumerate(markers, start=1):
        ax.axvline(day, color="0.55", lw=0.7, ls="--", zorder=0)
        if label:
            ax.annotate(str(number), (day, 1.0), xycoords=("data", "axes fraction"),
                        fontsize=7, color="0.3", ha="center", va="bottom")


def _legend_text(fig, markers: list[tuple[dt.date, str]]) -> None:
    legend_below(fig, [f"{n}. {text}" for n, (_, text) in enumerate(markers, start=1)])


def legend_below(fig, lines: list[str]) -> None:
    """Numbered labels as text along the bottom of the figure (in two columns past six)."""
    if lines:
        columns = 2 if len(lines) > 6 else 1
        per = -(-len(lines) // columns)
        for c in range(columns):
            fig.text(0.02 + 0.5 * c, 0.01, "\n".join(lines[c * per:(c + 1) * per]), fontsize=7,
                     va="bottom", family="monospace")


# Figures of studies (reports, sweeps, sensitivity, discovery) are read on slides: one metric a
# figure, SLIDE_WIDTH_IN x SLIDE_DPI = 1,500 px wide (the report allows at most about 1,600)
SLIDE_WIDTH_IN, SLIDE_DPI = 10.0, 150
LEGEND_LINE_IN = 0.16   # height of one line of legend text below a figure (7 pt)


def _legend_in(lines: int) -> float:
    """Inches of `legend_below` text for this many lines."""
    return LEGEND_LINE_IN * (-(-lines // (2 if lines > 6 else 1))) + (0.1 if lines else 0)


def slide_figure(height_in: float, legend_lines: int = 0):
    """A figure and its axes, slide-wide, `height_in` tall plus room below for `legend_lines`
    lines of `legend_below` text."""
    return plt.subplots(figsize=(SLIDE_WIDTH_IN, height_in + _legend_in(legend_lines)))


def save_slide(fig, path: Path, legend_lines: int = 0) -> Path:
    """Lay out (leaving the room for legend text), write at SLIDE_DPI and close."""
    fig.tight_layout(rect=(0, _legend_in(legend_lines) / fig.get_figheight(), 1, 1))
    fig.savefig(path, dpi=SLIDE_DPI)
    plt.close(fig)
    return path


def draw_shared(jobs: list[tuple[Path, Callable[[Path], object]]], processes: int
                ) -> list[Path]:
    """Draw figures: each job is (path, draw), where draw(path) draws one figure and saves it
    there. With `processes` > 1 (only where forking this process is safe:
    `sim.ensemble.fork_is_safe`), the jobs are shared out between this process and
    `processes - 1` forked ones (a report's six figures take about 1.3 s on one core). A job
    that fails in a forked process ends it with its traceback on stderr, and this raises
    RuntimeError. Returns the paths, in job order."""
    processes = max(1, min(processes, len(jobs)))
    sys.stdout.flush()
    sys.stderr.flush()      # or a forked process would write out again what is buffered here
    forked = [multiprocessing.get_context("fork").Process(target=_draw, args=(jobs[i::processes],))
              for i in range(1, processes)]
    for process in forked:
        process.start()
    try:
        _draw(jobs[::processes])
    finally:
        for process in forked:
            process.join()
    failed = [process.exitcode for process in forked if process.exitcode != 0]
    if failed:
        raise RuntimeError(f"drawing figures failed in a forked process (exit code {failed[0]})")
    return [path for path, _ in jobs]


def _draw(jobs: list[tuple[Path, Callable[[Path], object]]]) -> None:
    for path, draw in jobs:
        draw(path)


def mark_dates(ax, markers: list[tuple[pd.Timestamp, str, str]]) -> tuple[list[str], float]:
    """Mark each (date, label, colour) with a dashed line and a number above the axes (call
    after plotting, so the x range is set). Markers on one date share one label ("1,2"); a label
    that would touch the one before it goes on a row above, so numbers never overprint.
    Returns the legend lines ("1. label"), for `legend_below`, and the points the labels take
    above the axes (a title's `pad`)."""
    groups: dict = {}
    lines = []
    for number, (day, label, color) in enumerate(sorted(markers, key=lambda m: m[0]), start=1):
        groups.setdefault(pd.Timestamp(day), []).append((number, color))
        lines.append(f"{number}. {label}")
        ax.axvline(pd.Timestamp(day), color=color, ls="--", lw=0.8)
    low, high = ax.get_xlim()
    width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72
    row_ends: list[float] = []     # per row of labels: the right edge of its last, in points
    for day, entries in sorted(groups.items()):
        text = ",".join(str(n) for n, _ in entries)
        x = (mdates.date2num(day) - low) / (high - low) * width_pt
        half = 2.5 * len(text) + 2      # half a 7-pt label's width, in points
        row = next((i for i, end in enumerate(row_ends) if end < x - half), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0.0)
        row_ends[row] = x + half
        ax.annotate(text, (day, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2 + 9 * row),
                    textcoords="offset points", fontsize=7, ha="center", va="bottom",
                    color=entries[0][1])
    return lines, 4 + 9 * len(row_ends)


def _smooth(series: pd.Series) -> pd.Series:
    """4-week rolling mean, so weekly noise does not hide the trend."""
    return series.rolling(4, min_periods=1).mean()


def overview(frame: pd.DataFrame, markers: list[tuple[dt.date, str]], title: str,
             path: Path) -> None:
    """A 3x3 grid of the main series."""
    dates = pd.to_datetime(frame["date"])
    fig, axes = plt.subplots(3, 3, figsize=(15, 10.5 + 0.12 * len(markers)), sharex=True)
    for ax, (columns, heading) in zip(axes.flat, PANELS, strict=True):
        for column in (columns if isinstance(columns, tuple) else (columns,)):
            ax.plot(dates, _smooth(frame[column]), lw=1.2, label=column)
        if isinstance(columns, tuple):
            ax.legend(fontsize=7, loc="upper left")
        ax.set_title(heading, fontsize=9, pad=12)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        _mark_policies(ax, markers, label=True)
    fig.suptitle(title, fontsize=12)
    bottom = min(0.4, 0.04 + 0.012 * (-(-len(markers) // (2 if len(markers) > 6 else 1))))
    fig.tight_layout(rect=(0, bottom, 1, 0.97))
    _legend_text(fig, markers)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def shares(frame: pd.DataFrame, prefix: str, heading: str, markers, path: Path) -> None:
    """Stacked shares of the columns that start with `prefix` (routes or chemicals)."""
    columns = [c for c in frame.columns if c.startswith(prefix)]
    dates = pd.to_datetime(frame["date"])
    fig, ax = plt.subplots(figsize=(12, 5 + 0.12 * len(markers)))
    values = [_smooth(frame[c]) for c in columns]
    ax.stackplot(dates, values, labels=[c[len(prefix):] for c in columns], alpha=0.85)
    ax.set_ylim(0, 1)
    ax.set_title(heading, fontsize=10, pad=12)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    _mark_policies(ax, markers, label=True)
    bottom = min(0.4, 0.05 + 0.025 * (-(-len(markers) // (2 if len(markers) > 6 else 1))))
    fig.tight_layout(rect=(0, bottom, 1, 1))
    _legend_text(fig, markers)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def inspection_shares(frame: pd.DataFrame, agencies: dict[str, list[str]], markers,
                      path: Path) -> None:
    """Each customs agency's split of inspections across its posts, one panel per agency with
    more than one post."""
    split = {name: posts for name, posts in agencies.items() if len(posts) > 1}
    dates = pd.to_datetime(frame["date"])
    fig, axes = plt.subplots(len(split), 1, figsize=(12, 2.4 * len(split) + 0.5), sharex=True,
                             squeeze=False)
    for ax, (agency, posts) in zip(axes[:, 0], split.items(), strict=True):
        ax.stackplot(dates, [frame[f"inspection_share_{p}"] for p in posts], labels=posts,
                     alpha=0.85)
        ax.set_ylim(0, 1)
        ax.set_title(f"{agency}: share of inspections by post", fontsize=9)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        _mark_policies(ax, markers, label=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@matplotlib.rc_context(PLAIN_TEXT)
def plot_run(frame: pd.DataFrame, markers: list[tuple[dt.date, str]], title: str,
             folder: Path, agencies: dict[str, list[str]]) -> list[Path]:
    """Write the run's figures into `folder`; returns their paths. `agencies` maps each
    customs agency to its posts."""
    paths = [folder / "overview.png", folder / "route_shares.png",
             folder / "precursor_shares.png", folder / "inspection_shares.png"]
    overview(frame, markers, title, paths[0])
    shares(frame, "route_share_", "Share of fentanyl sent north by US entry route", markers,
           paths[1])
    shares(frame, "precursor_share_", "Share of chemicals shipped by chemical", markers, paths[2])
    inspection_shares(frame, agencies, markers, paths[3])
    return paths
