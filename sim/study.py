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

import pandas as pd

from sim.compare import (
    DEFAULT_METRICS,
    HEADLINE,
    Window,
    comparison_table,
    parse_window,
    total,
)
from sim.config import OVERRIDES, Scenario, as_scenario
from sim.ensemble import (
    MemoryStore,
    RunSpec,
    RunStore,
    check_grid,
    connect,
    execute,
    replicate_seeds,
)
from sim.folders import MARKER, atomic_folder, working_folder
from sim.metrics import HOW
from sim.posterior_file import draws_table, replicate_variants, study_posterior, uncertainty_note
from sim.report import ReportInput, versions, write_report
from sim.sweep_figures import sweep_figures
from sim.validation import ScenarioError, Source, check_horizon, suggest


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


def load_paired(scenarios: list, weeks: int | None) -> tuple[list[str], list[Scenario]]:
    """Scenarios to run paired (`Scenario` objects, shipped names or files), with `weeks`: each
    must have the first one's start and horizon. Returns their names (made unique by their
    position when two share one) and the scenarios."""
    loaded = [as_scenario(s).with_overrides(weeks=weeks) for s in scenarios]
    where = [s.file if isinstance(s, Scenario) else s for s in scenarios]
    first = loaded[0]
    check_horizon(first, weeks, where[0])
    for path, s in zip(where[1:], loaded[1:], strict=True):
        if (s.start, s.weeks) != (first.start, first.weeks):
            raise ScenarioError(f"{path}: mismatched horizons: {s.start} + {s.weeks} weeks, but "
                                f"{where[0]} has {first.start} + {first.weeks} weeks; "
                                "paired comparisons need the same weeks (weeks=, --weeks)")
    plain = [s.name for s in loaded]
    return [n if plain.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(plain)], loaded


def study_windows(first: Scenario, window: str | None) -> list[Window]:
    """The whole horizon, and the `window` (YYYY-MM:YYYY-MM) when one is given."""
    last_day = first.start + dt.timedelta(weeks=first.weeks)
    return [Window("horizon")] + ([parse_window(window, first.start, last_day)] if window
                                  else [])


def run_label(position: int, name: str, scenario: Scenario) -> str:
    """A study's label for the runs of one scenario: position, name and the start of its
    resolved scenario's SHA-256 (so a changed file is run again, never taken for the old)."""
    return f"{position}_{name}_{scenario.sha256[:10]}"


def compare(scenarios: list, replicates: int = 20, seed: int | None = None,
            weeks: int | None = None, metrics=None, window: str | None = None,
            workers: int | None = None, scheduler: str | None = None, out: Path | None = None,
            force: bool = False, resume: bool = False, quiet: bool = True,
            posterior: Path | str | bool | None = None) -> pd.DataFrame:
    """Paired replicates of scenarios (`Scenario` objects, shipped names or files): replicate r
    of each runs with seed + r and, with a posterior (`posterior`, a CSV file, else the first
    scenario's `posterior:` key; False or "none": none), the parameters its seed draws from it
    (`sim.posterior_file`), the same in every scenario. Returns the comparison table (per
    window, scenario and metric: median and 5-95% of the totals, and paired differences from
    the first scenario; `uncertainty` says what the intervals carry); with `out`, also writes
    comparison.csv, posterior_draws.csv, figures and the report there (`run.py compare`)."""
    if not scenarios:
        raise ScenarioError("compare: give at least one scenario file")
    metrics = check_metrics(metrics)
    if HEADLINE not in metrics:   # the report and the terminal open with it
        metrics = (HEADLINE, *metrics)
    names, loaded = load_paired(scenarios, weeks)
    first = loaded[0]
    windows = study_windows(first, window)
    check_scheduler(scheduler)
    seeds = replicate_seeds(first.seed if seed is None else seed, replicates)
    first_file = scenarios[0] if not isinstance(scenarios[0], Scenario) else first.file
    drawn = study_posterior(posterior, first, first_file)
    specs = {name: [RunSpec(str(Path(s.file).resolve()), r, first.weeks, (), run_label(i, name, v),
                            v)
                    for r, v in zip(seeds, replicate_variants(s, drawn, seeds), strict=True)]
             for i, (name, s) in enumerate(zip(names, loaded, strict=True))}
    with study_store(out, force, resume, "compare") as store:
        _execute([s for group in specs.values() for s in group], store, workers, scheduler,
                 resume, quiet)
        results = {name: [store.load(spec) for spec in specs[name]] for name in names}
        frames = {name: [r.timeseries for r in runs] for name, runs in results.items()}
        table = comparison_table(frames, metrics, windows)
        table["uncertainty"] = uncertainty_note(drawn)
        if out is not None:
            base_markers = set(results[names[0]][0].markers)
            report = ReportInput(
                question="What difference does each policy make? " + " vs ".join(names),
                descriptions={name: s.description for name, s in zip(names, loaded, strict=True)},
                markers={name: [m for m in runs[0].markers if m not in base_markers]
                         for name, runs in results.items()},
                frames=frames, table=table, seeds=seeds, command=shlex.join(["python", *sys.argv]),
                versions=versions(),
                parameter_draws=None if drawn is None else f"the posterior {drawn.file}")

            def write(folder: Path) -> None:
                table.to_csv(folder / "comparison.csv", index=False)
                if drawn is not None:
                    draws_table(drawn, seeds).to_csv(folder / "posterior_draws.csv",
                                                     index=False, float_format="%.6g")
                write_report(report, folder)

            _publish(out, write)
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
    writes sweep.csv and a figure per metric there (`run.py sweep`, `sim.sweep_figures`).
    `source` names where the grid came from in error messages (the command line: --set)."""
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
            sweep_figures(table, list(grid), metrics, folder / "figures")

        if out is not None:
            _publish(out, write)
    return table
