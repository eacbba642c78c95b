"""`compare` and `sweep`: plan the runs, execute them (resumably), and write the outputs.

Everything is checked before the first run starts; the report is written only when every run
has finished, through a temporary folder, so no partial report is ever left behind.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shlex
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.compare import DEFAULT_METRICS, Window, comparison_table, parse_window, total  # noqa: E402
from sim.config import OVERRIDES, Scenario, as_scenario  # noqa: E402
from sim.ensemble import (  # noqa: E402
    MemoryStore,
    RunSpec,
    RunStore,
    check_grid,
    connect,
    execute,
    replicate_seeds,
)
from sim.folders import MARKER, atomic_folder, working_folder  # noqa: E402
from sim.metrics import HOW  # noqa: E402
from sim.plots import PLAIN_TEXT  # noqa: E402
from sim.report import ReportInput, versions, write_report  # noqa: E402
from sim.validation import ScenarioError, Source, check_horizon, suggest  # noqa: E402


def check_metrics(metrics) -> tuple[str, ...]:
    """Metric names (a list, or comma-separated text), each an output column; default: the
    main ones."""
    if not metrics:
        return DEFAULT_METRICS
    if isinstance(metrics, str):
        metrics = metrics.split(",")
    metrics = tuple(m.strip() for m in metrics if m.strip())
    for metric in metrics:
        if metric not in HOW:
            raise ScenarioError(f"metrics: unknown metric '{metric}'. "
                                + suggest(metric, HOW).replace("valid keys", "Valid metrics"))
    return metrics


def check_scheduler(address: str | None) -> None:
    """Fail early (before any folder is made) if a Dask scheduler cannot be reached."""
    if address:
        connect(address).close()


def _progress_bar(total_runs: int, quiet: bool):
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0   # no monitor thread: workers can then be forked (worker_context)

    return Bar(total=total_runs, unit="run", disable=quiet or None, file=sys.stderr,
               bar_format="{l_bar}{bar}| {n}/{total} runs [{elapsed}<{remaining}, {postfix}]")


@contextmanager
def study_store(out: Path | None, force: bool, resume: bool, kind: str):
    """Where a study keeps its runs: `out/runs` in its working folder (locked, resumable), or
    memory when no folder is given (then nothing is written)."""
    if out is None:
        yield MemoryStore()
        return
    with working_folder(out, force, resume, kind):
        yield RunStore(Path(out) / "runs")


def _execute(specs, store, workers, scheduler, resume, quiet) -> None:
    started, done = time.perf_counter(), [0]
    with _progress_bar(len(specs), quiet) as bar:
        def step(n):
            done[0] += n
            bar.update(n)
            minutes = (time.perf_counter() - started) / 60
            bar.set_postfix_str(f"{done[0] / max(minutes, 1e-9):.1f} runs/min")

        execute(specs, store, workers=workers, scheduler=scheduler, progress=step,
                resume=resume)


def compare(scenarios: list, replicates: int = 20, seed: int | None = None,
            weeks: int | None = None, metrics=None, window: str | None = None,
            workers: int | None = None, scheduler: str | None = None, out: Path | None = None,
            force: bool = False, resume: bool = False, quiet: bool = True) -> pd.DataFrame:
    """Paired replicates of scenarios (`Scenario` objects, shipped names or files): replicate r
    of each runs with seed + r. Returns the comparison table (per window, scenario and metric:
    median and 5-95% of the totals, and paired differences from the first scenario); with
    `out`, also writes comparison.csv, figures and the report there (`run.py compare`)."""
    if not scenarios:
        raise ScenarioError("compare: give at least one scenario file")
    metrics = check_metrics(metrics)
    loaded = [as_scenario(s).with_overrides(weeks=weeks) for s in scenarios]
    where = [s.file if isinstance(s, Scenario) else s for s in scenarios]
    first = loaded[0]
    check_horizon(first, weeks, where[0])
    last_day = first.start + dt.timedelta(weeks=first.weeks)
    windows = [Window("horizon")] + ([parse_window(window, first.start, last_day)]
                                     if window else [])
    for path, s in zip(where[1:], loaded[1:], strict=True):
        if (s.start, s.weeks) != (first.start, first.weeks):
            raise ScenarioError(f"{path}: mismatched horizons: {s.start} + {s.weeks} weeks, but "
                                f"{where[0]} has {first.start} + {first.weeks} weeks; "
                                "paired comparisons need the same weeks (weeks=, --weeks)")
    check_scheduler(scheduler)
    seeds = replicate_seeds(first.seed if seed is None else seed, replicates)
    plain = [s.name for s in loaded]
    names = [n if plain.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(plain)]
    specs = {name: [RunSpec(str(Path(s.file).resolve()), r, first.weeks, (),
                            f"{i}_{name}_{s.sha256[:10]}", s) for r in seeds]
             for i, (name, s) in enumerate(zip(names, loaded, strict=True))}
    with study_store(out, force, resume, "compare") as store:
        _execute([s for group in specs.values() for s in group], store, workers, scheduler,
                 resume, quiet)
        results = {name: [store.load(spec) for spec in specs[name]] for name in names}
        frames = {name: [r.timeseries for r in runs] for name, runs in results.items()}
        table = comparison_table(frames, metrics, windows)
        if out is not None:
            base_markers = set(results[names[0]][0].markers)
            report = ReportInput(
                question="What difference does each policy make? " + " vs ".join(names),
                descriptions={name: s.description for name, s in zip(names, loaded, strict=True)},
                markers={name: [m for m in runs[0].markers if m not in base_markers]
                         for name, runs in results.items()},
                frames=frames, table=table, seeds=seeds, command=shlex.join(["python", *sys.argv]),
                versions=versions())
            _publish(out, lambda folder: (table.to_csv(folder / "comparison.csv", index=False),
                                          write_report(report, folder)))
    return table


def _publish(out: Path, write) -> None:
    """Write the report files into a temporary folder, then move each into `out` (a folder this
    program made and holds the lock of; its marker stays)."""
    with atomic_folder(out / ".report", force=True) as temp:
        write(temp)
    staged = out / ".report"
    for item in staged.iterdir():
        if item.name != MARKER:
            target = out / item.name
            if target.is_dir():
                shutil.rmtree(target)
            item.replace(target)
    shutil.rmtree(staged)


def sweep(scenario, grid: dict, replicates: int = 20, seed: int | None = None,
          weeks: int | None = None, metrics=None, workers: int | None = None,
          scheduler: str | None = None, out: Path | None = None, force: bool = False,
          resume: bool = False, quiet: bool = True, source: Source = OVERRIDES) -> pd.DataFrame:
    """Every combination of `grid` ({dotted key: [values]}, keys as `Scenario.with_overrides`
    takes them) on a scenario (a `Scenario`, a shipped name or a file), with replicates.
    Returns one row per run: the keys' values, seed and each metric's total; with `out`, also
    writes sweep.csv and a figure per key there (`run.py sweep`). `source` names where the grid
    came from in error messages (the command line: --set)."""
    if not grid:
        raise ScenarioError("sweep: give at least one parameter and its values (on the command "
                            "line: --set PARAMETER=VALUE[,VALUE...])")
    metrics = check_metrics(metrics)
    where = scenario.file if isinstance(scenario, Scenario) else scenario
    scenario = as_scenario(scenario).with_overrides(weeks=weeks)
    check_horizon(scenario, weeks, where)
    grid = check_grid(scenario, grid, source)
    check_scheduler(scheduler)
    seeds = replicate_seeds(scenario.seed if seed is None else seed, replicates)
    combos = [tuple(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    specs = [RunSpec(str(Path(scenario.file).resolve()), r, scenario.weeks, combo,
                     f"{scenario.name}_{scenario.sha256[:10]}", scenario)
             for combo in combos for r in seeds]
    with study_store(out, force, resume, "sweep") as store:
        _execute(specs, store, workers, scheduler, resume, quiet)
        rows = []
        for spec in specs:
            result = store.load(spec)
            rows.append({**dict(spec.overrides), "seed": spec.seed,
                         **{m: total(result.timeseries, m) for m in metrics}})
        table = pd.DataFrame(rows)

        def write(folder: Path) -> None:
            table.to_csv(folder / "sweep.csv", index=False)
            (folder / "figures").mkdir()
            for parameter in grid:
                sweep_figure(table, parameter, metrics, folder / "figures" / f"{parameter}.png")

        if out is not None:
            _publish(out, write)
    return table


@matplotlib.rc_context(PLAIN_TEXT)
def sweep_figure(table: pd.DataFrame, parameter: str, metrics, path: Path) -> None:
    """Each metric's median and 5-95% interval (over replicates and the other parameters)
    against one swept parameter."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3), squeeze=False)
    grouped = table.groupby(parameter)
    for ax, metric in zip(axes[0], metrics, strict=True):
        stats = grouped[metric].agg(median="median", low=lambda v: np.percentile(v, 5),
                                    high=lambda v: np.percentile(v, 95))
        ax.plot(stats.index, stats["median"], marker="o")
        ax.fill_between(stats.index, stats["low"], stats["high"], alpha=0.2)
        ax.set_title(metric, fontsize=8)
        ax.set_xlabel(parameter, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
