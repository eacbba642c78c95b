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
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.compare import DEFAULT_METRICS, Window, comparison_table, parse_window, total  # noqa: E402
from sim.config import load_scenario  # noqa: E402
from sim.ensemble import (  # noqa: E402
    RunSpec,
    RunStore,
    connect,
    execute,
    parse_settings,
    replicate_seeds,
)
from sim.folders import MARKER, atomic_folder, working_folder  # noqa: E402
from sim.metrics import HOW  # noqa: E402
from sim.plots import PLAIN_TEXT  # noqa: E402
from sim.report import ReportInput, versions, write_report  # noqa: E402
from sim.validation import ScenarioError, check_horizon, suggest  # noqa: E402


def check_metrics(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_METRICS
    metrics = tuple(m.strip() for m in text.split(",") if m.strip())
    for metric in metrics:
        if metric not in HOW:
            raise ScenarioError(f"--metrics: unknown metric '{metric}'. "
                                + suggest(metric, HOW).replace("valid keys", "Valid metrics"))
    return metrics


def check_scheduler(address: str | None) -> None:
    """Fail early (before any folder is made) if a Dask scheduler cannot be reached."""
    if address:
        connect(address).close()


def _progress_bar(total_runs: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total_runs, unit="run", disable=quiet or None, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n}/{total} runs [{elapsed}<{remaining}, "
                           "{postfix}]")


def _execute(specs, store, args) -> None:
    started, done = time.perf_counter(), [0]
    with _progress_bar(len(specs), args.quiet) as bar:
        def step(n):
            done[0] += n
            bar.update(n)
            minutes = (time.perf_counter() - started) / 60
            bar.set_postfix_str(f"{done[0] / max(minutes, 1e-9):.1f} runs/min")

        execute(specs, store, workers=args.workers, scheduler=args.scheduler, progress=step,
                resume=args.resume)


def compare(args) -> Path:
    """`run.py compare A.yaml B.yaml ...`: paired replicates, comparison.csv, report."""
    if not args.scenarios:
        raise ScenarioError("compare: give at least one scenario file")
    metrics = check_metrics(args.metrics)
    scenarios = [load_scenario(p).with_overrides(weeks=args.weeks) for p in args.scenarios]
    first = scenarios[0]
    check_horizon(first, args.weeks, args.scenarios[0])
    last_day = first.start + dt.timedelta(weeks=first.weeks)
    windows = [Window("horizon")] + ([parse_window(args.window, first.start, last_day)]
                                     if args.window else [])
    for path, s in zip(args.scenarios[1:], scenarios[1:], strict=True):
        if (s.start, s.weeks) != (first.start, first.weeks):
            raise ScenarioError(f"{path}: mismatched horizons: {s.start} + {s.weeks} weeks, but "
                                f"{args.scenarios[0]} has {first.start} + {first.weeks} weeks; "
                                "paired comparisons need the same weeks (use --weeks)")
    check_scheduler(args.scheduler)
    seeds = replicate_seeds(first.seed if args.seed is None else args.seed, args.replicates)
    plain = [s.name for s in scenarios]
    names = [n if plain.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(plain)]
    specs = {name: [RunSpec(str(Path(p).resolve()), seed, first.weeks, (),
                            f"{i}_{name}_{s.sha256[:10]}") for seed in seeds]
             for i, (name, p, s) in enumerate(zip(names, args.scenarios, scenarios, strict=True))}
    out = args.out or Path("results") / "compare" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    with working_folder(out, args.force, args.resume, "compare"):
        store = RunStore(out / "runs")
        _execute([s for group in specs.values() for s in group], store, args)
        results = {name: [store.load(spec) for spec in specs[name]] for name in names}
        frames = {name: [r.timeseries for r in runs] for name, runs in results.items()}
        table = comparison_table(frames, metrics, windows)
        base_markers = set(results[names[0]][0].markers)
        report = ReportInput(
            question="What difference does each policy make? " + " vs ".join(names),
            descriptions={name: s.description for name, s in zip(names, scenarios, strict=True)},
            markers={name: [m for m in runs[0].markers if m not in base_markers]
                     for name, runs in results.items()},
            frames=frames, table=table, seeds=seeds, command=shlex.join(["python", *sys.argv]),
            versions=versions())
        _publish(out, lambda folder: (table.to_csv(folder / "comparison.csv", index=False),
                                      write_report(report, folder)))
    return out


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


def sweep(args) -> Path:
    """`run.py sweep BASE.yaml --set a.b=1,2 ...`: every combination, with replicates."""
    grid = parse_settings(args.set or [])
    if not grid:
        raise ScenarioError("sweep: give at least one --set PARAMETER=VALUE[,VALUE...]")
    metrics = check_metrics(args.metrics)
    scenario = load_scenario(args.scenario).with_overrides(weeks=args.weeks)
    check_horizon(scenario, args.weeks, args.scenario)
    check_scheduler(args.scheduler)
    seeds = replicate_seeds(scenario.seed if args.seed is None else args.seed, args.replicates)
    combos = [tuple(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    specs = [RunSpec(str(Path(args.scenario).resolve()), seed, scenario.weeks, combo,
                     f"{scenario.name}_{scenario.sha256[:10]}")
             for combo in combos for seed in seeds]
    out = args.out or Path("results") / "sweeps" / scenario.name / dt.datetime.now().strftime(
        "%Y%m%d-%H%M%S")
    with working_folder(out, args.force, args.resume, "sweep"):
        store = RunStore(out / "runs")
        _execute(specs, store, args)
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

        _publish(out, write)
    return out


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
