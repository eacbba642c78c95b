"""Five lessons (docs/classroom.md) and a static figure for each, for slides:
`python run.py lesson N` runs the lesson's scenarios at classroom size with a few paired seeds
and writes `lessonN.png` and `lessonN.csv` (yearly medians and 5-95% ranges)."""

from __future__ import annotations

import concurrent.futures
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.classroom.model import CLASSROOM_SIZE, SCENARIO_DIR  # noqa: E402
from sim.config import load_scenario  # noqa: E402
from sim.ensemble import run  # noqa: E402
from sim.metrics import HOW, drawn  # noqa: E402
from sim.output import atomic_folder  # noqa: E402

SOUTHWEST = ("san_diego", "nogales", "el_paso", "laredo")


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    scenarios: tuple[str, ...]            # files in scenarios/, the first is the reference
    panels: tuple[tuple[str, str], ...]   # (yearly series, title); see `yearly`


# the deaths panel: all opioid overdose deaths, and dashed the part that fentanyl and its analogs
# cause (`sim.metrics.drawn`)
DEATHS = ("overdose_deaths", "Overdose deaths, people/year (dashed: fentanyl and analogs)")


LESSONS = (
    Lesson(1, "Why seizures rise while deaths rise", ("baseline.yaml",),
           (DEATHS,
            ("fentanyl_seized_kg", "Fentanyl seized by US agencies (kg/year)"),
            ("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg pure/year)"),
            ("retail_price_usd_per_mg", "Retail price (US$/mg pure)"))),
    Lesson(2, "The balloon effect", ("baseline.yaml", "customs_surge_southwest.yaml"),
           (("southwest_share", "Share of fentanyl sent through the 4 southwest ports"),
            ("fentanyl_seized_kg", "Fentanyl seized by US agencies (kg/year)"),
            ("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg pure/year)"),
            DEATHS)),
    Lesson(3, "Analogs outrun regulators", ("baseline.yaml", "analog_class_control.yaml"),
           (("unscheduled_precursor_share", "Share of precursor shipped that is not "
                                            "controlled"),
            ("chemicals_controlled_in_china", "Chemicals controlled in China"),
            ("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg pure/year)"),
            DEATHS)),
    Lesson(4, "Sanctions or cooperation?",
           ("baseline.yaml", "sanctions_reinstated.yaml", "taskforce_with_china.yaml"),
           (("china_cooperation", "China's cooperation with the US (0-1)"),
            ("active_precursor_makers", "Active precursor makers (firms)"),
            ("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg pure/year)"),
            DEATHS)),
    Lesson(5, "Supply or demand?",
           ("baseline.yaml", "taskforce_with_china.yaml", "demand_reduction.yaml",
            "supply_and_demand.yaml"),
           (("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg pure/year)"),
            ("retail_price_usd_per_mg", "Retail price (US$/mg pure)"),
            ("users_in_treatment", "People in treatment"),
            DEATHS)),
)


def yearly(frame: pd.DataFrame, series: str) -> pd.Series:
    """A weekly timeseries as yearly values: sums of flows, means of levels and shares."""
    frame = frame.assign(year=frame["date"].str[:4].astype(int))
    if series == "southwest_share":
        frame = frame.assign(southwest_share=sum(frame[f"route_share_{e}"] for e in SOUTHWEST))
    grouped = frame.groupby("year")[series]
    how = "mean" if series == "southwest_share" else HOW[series]
    return grouped.mean() if how == "mean" else grouped.sum()


def _run(args):
    path, seed = args
    return run(path, seed, overrides=CLASSROOM_SIZE).timeseries


def run_lesson(lesson: Lesson, replicates: int, folder: Path = SCENARIO_DIR) -> pd.DataFrame:
    """Yearly median and 5-95% range of every panel's series, per scenario (long table)."""
    seed = load_scenario(folder / lesson.scenarios[0]).seed
    jobs = [(str(folder / name), seed + r) for name in lesson.scenarios for r in range(replicates)]
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers == 1:
        frames = [_run(job) for job in jobs]
    else:
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            frames = list(pool.map(_run, jobs))
    rows = []
    for i, name in enumerate(lesson.scenarios):
        runs = frames[i * replicates:(i + 1) * replicates]
        for series in (s for panel, _ in lesson.panels for s in drawn(panel)):
            table = pd.concat([yearly(f, series) for f in runs], axis=1)
            for year, values in table.iterrows():
                rows.append({"scenario": name.removesuffix(".yaml"), "series": series,
                             "year": year, "median": values.median(),
                             "p5": np.percentile(values, 5), "p95": np.percentile(values, 95)})
    return pd.DataFrame(rows)


def plot_lesson(lesson: Lesson, table: pd.DataFrame, path: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (panel, title) in zip(axes.flat, lesson.panels, strict=True):
        for n, name in enumerate(lesson.scenarios):
            for series, style in zip(drawn(panel), ("-", "--"), strict=False):
                rows = table[(table.scenario == name.removesuffix(".yaml"))
                             & (table.series == series)]
                ax.plot(rows.year, rows["median"], style, color=f"C{n}", lw=1.8,
                        label=name.removesuffix(".yaml") if style == "-" else None)
                ax.fill_between(rows.year, rows.p5, rows.p95, color=f"C{n}", alpha=0.15)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Lesson {lesson.number}: {lesson.title}", fontsize=13)
    fig.text(0.01, 0.005, "Medians over paired seeds, band 5-95%, classroom size (20,000 "
             "people-agents). Reproduce: python run.py lesson " f"{lesson.number}",
             fontsize=8, color="0.3")
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_lesson(number: int, out: Path | None, replicates: int, force: bool) -> Path:
    """Run lesson `number` and write its figure and table into `out` (atomically)."""
    lesson = LESSONS[number - 1]
    out = out if out is not None else Path("results") / "lessons" / f"lesson{number}"
    with atomic_folder(out, force=force) as temp:
        table = run_lesson(lesson, replicates)
        table.to_csv(temp / f"lesson{number}.csv", index=False, float_format="%.6g")
        plot_lesson(lesson, table, temp / f"lesson{number}.png")
    return out
