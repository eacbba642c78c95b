"""`run.py calibrate`: fit a scenario's free parameters (its `calibration:` block) to an
observed annual series, and show the fit.

Method: a Latin hypercube screen of the free parameters' box (`scipy.stats.qmc.LatinHypercube`,
seeded with the scenario's seed), then bounded Nelder-Mead (`scipy.optimize.minimize`) from the
best screened point, capped at `max_evals` evaluations. Each candidate is run with the same
seeds (replicate r uses seed + r: common random numbers), so the objective is a deterministic
function of the parameters: the sum over the target years of the squared log error of the
median over replicates of the model's annual total. Runs are stored one by one (`sim.ensemble`),
so `--resume` replays the same search without rerunning finished runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.stats import qmc  # noqa: E402

from sim.config import ScenarioError, load_scenario  # noqa: E402
from sim.ensemble import RunSpec, RunStore, execute, replicate_seeds  # noqa: E402
from sim.folders import working_folder  # noqa: E402
from sim.plots import PLAIN_TEXT  # noqa: E402
from sim.study import _publish, check_scheduler  # noqa: E402

SIGNIFICANT_DIGITS = 4        # candidates are rounded, so what is shipped is what was run
SIMPLEX_STEP = 0.1            # initial Nelder-Mead step, as a share of each parameter's range
LOW, HIGH = 5, 95             # percentiles of the model's band
UNTARGETED = {                # column -> (how per year, scale, label)
    "fentanyl_seized_kg": ("sum", 1.0, "fentanyl seized by US agencies (kg pure/year)"),
    "route_share_mail_express": ("mean", 1.0, "share of fentanyl sent north by mail/express"),
    "fentanyl_to_us_kg": ("sum", 1e-3, "pure fentanyl reaching US retail (t/year)"),
}


@dataclass(frozen=True)
class CandidateSpec(RunSpec):
    """A run of one candidate; its file is named by a hash of the parameter values (a full
    list of long floats would make file names too long)."""

    @property
    def stem(self) -> str:
        digest = hashlib.sha256(repr(self.overrides).encode()).hexdigest()[:16]
        return f"{self.label}__{digest}__seed{self.seed}"


def annual(frame: pd.DataFrame, metric: str, how: str = "sum") -> pd.Series:
    """A weekly column per calendar year of the week's Monday."""
    years = pd.to_datetime(frame["date"]).dt.year
    grouped = frame[metric].groupby(years)
    return grouped.sum() if how == "sum" else grouped.mean()


def weeks_through(start: dt.date, last_year: int) -> int:
    """Weeks from `start` until the week that contains 31 December of `last_year`."""
    return math.ceil((dt.date(last_year + 1, 1, 1) - start).days / 7)


def rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


class Fit:
    """The objective: runs candidates (stored, so a resumed fit replays them) and scores them."""

    def __init__(self, args, scenario, spec, store: RunStore, progress):
        self.args, self.scenario, self.spec, self.store = args, scenario, spec, store
        self.progress = progress
        self.seeds = replicate_seeds(scenario.seed if args.seed is None else args.seed,
                                     args.replicates)
        self.weeks = weeks_through(scenario.start, spec.last_year)
        self.years = list(range(spec.first_year, spec.last_year + 1))
        observed = pd.read_csv(spec.file).set_index("year")[spec.column]
        self.observed = observed.loc[self.years].astype(float)
        self.label = f"{scenario.name}_{scenario.sha256[:10]}"
        self.evaluations: list[dict] = []
        self.runs_done = 0

    def values(self, unit: np.ndarray) -> dict[str, float]:
        """A point of the unit cube -> parameter values (rounded)."""
        return {p.path: rounded(p.low + u * (p.high - p.low))
                for p, u in zip(self.spec.free, np.clip(unit, 0, 1), strict=True)}

    def specs(self, values: dict) -> list[CandidateSpec]:
        return [CandidateSpec(str(Path(self.args.scenario).resolve()), seed, self.weeks,
                              tuple(values.items()), self.label) for seed in self.seeds]

    def annual_runs(self, values: dict, metric: str, how: str = "sum") -> pd.DataFrame:
        """One row per replicate, one column per target year."""
        rows = [annual(self.store.load(s).timeseries, metric, how)
                for s in self.specs(values)]
        return pd.DataFrame(rows).reindex(columns=self.years)

    def score(self, values: dict) -> float:
        """Squared log errors of the yearly medians, plus those of their year-on-year changes
        (the difference of consecutive log errors), so the fit holds the curve's shape (a
        plateau stays a plateau), not only its levels."""
        median = self.annual_runs(values, self.spec.metric).median()
        errors = np.log(np.maximum(median.to_numpy(), 1.0) / self.observed.to_numpy())
        return float((errors ** 2).sum() + (np.diff(errors) ** 2).sum())

    def evaluate(self, units: list[np.ndarray], stage: str) -> list[float]:
        """Run every candidate's replicates in one batch, then score each."""
        candidates = [self.values(u) for u in units]
        execute([s for c in candidates for s in self.specs(c)], self.store,
                workers=self.args.workers, scheduler=self.args.scheduler,
                progress=self._runs_finished, resume=True)
        scores = []
        for values in candidates:
            scores.append(self.score(values))
            self.evaluations.append({"stage": stage, "evaluation": len(self.evaluations) + 1,
                                     **values, "objective": scores[-1]})
            self.progress(self.runs_done, scores[-1])
        return scores

    def _runs_finished(self, n: int) -> None:
        self.runs_done += n
        self.progress(self.runs_done, None)

    @property
    def best(self) -> dict:
        return min(self.evaluations, key=lambda e: e["objective"])


class _BudgetSpent(Exception):
    """Nelder-Mead asked for more evaluations than `max_evals`."""


def search(fit: Fit, lhs_points: int, max_evals: int) -> dict:
    """Latin hypercube screen, then bounded Nelder-Mead from its best point (at most
    `max_evals` evaluations); the best values seen."""
    dims = len(fit.spec.free)
    screen = qmc.LatinHypercube(d=dims, seed=fit.scenario.seed).random(lhs_points)
    scores = fit.evaluate(list(screen), "lhs")
    start = screen[int(np.argmin(scores))]
    steps = SIMPLEX_STEP * np.where(start < 0.5, 1.0, -1.0)   # toward the middle of the box
    simplex = np.vstack([start, start + np.diag(steps)])
    spent = [0]

    def objective(unit: np.ndarray) -> float:
        if spent[0] >= max_evals:
            raise _BudgetSpent
        spent[0] += 1
        return fit.evaluate([unit], "nelder-mead")[0]

    with contextlib.suppress(_BudgetSpent):
        minimize(objective, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * dims,
                 options={"initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-4})
    best = fit.best
    return {p.path: best[p.path] for p in fit.spec.free}


def shipped_fit(path: str | Path, replicates: int, workers: int, folder: Path) -> Fit:
    """The scenario as it is (no candidate values) run over its calibration years with
    `replicates` seeds, stored in `folder`: for `fit_table(fit, {})` and
    `untargeted_table(fit, {})` (the check in tests/test_calibration.py and
    docs/calibration.md)."""
    scenario = load_scenario(path)
    args = argparse.Namespace(scenario=Path(path), seed=None, replicates=replicates,
                              workers=workers, scheduler=None)
    fit = Fit(args, scenario, scenario.calibration, RunStore(folder), lambda *_: None)
    execute(fit.specs({}), fit.store, workers=workers, resume=True)
    return fit


def fit_table(fit: Fit, values: dict) -> pd.DataFrame:
    """year, observed, model median and 5-95% interval over replicates, error % of the median."""
    runs = fit.annual_runs(values, fit.spec.metric)
    median = runs.median()
    return pd.DataFrame({
        "year": fit.years, "observed": fit.observed.to_numpy(),
        "model_median": median.to_numpy(),
        "model_p5": runs.quantile(LOW / 100).to_numpy(),
        "model_p95": runs.quantile(HIGH / 100).to_numpy(),
        "error_pct": (100 * (median / fit.observed.to_numpy() - 1)).to_numpy()})


def untargeted_table(fit: Fit, values: dict) -> pd.DataFrame:
    """Quantities the fit did not target, per year: median and 5-95% over replicates (those
    the world has: a world without mail routes has no mail share)."""
    recorded = fit.store.load(fit.specs(values)[0]).timeseries.columns
    rows = []
    for column, (how, scale, label) in UNTARGETED.items():
        if column not in recorded:
            continue
        runs = fit.annual_runs(values, column, how) * scale
        for year in fit.years:
            rows.append({"quantity": label, "column": column, "year": year,
                         "model_median": runs[year].median(),
                         "model_p5": runs[year].quantile(LOW / 100),
                         "model_p95": runs[year].quantile(HIGH / 100)})
    return pd.DataFrame(rows)


@matplotlib.rc_context(PLAIN_TEXT)
def fit_figure(table: pd.DataFrame, title: str, ylabel: str, path: Path) -> None:
    """Observed points over the model's median and 5-95% band, by year."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.fill_between(table["year"], table["model_p5"], table["model_p95"], alpha=0.25,
                    label=f"model {LOW}-{HIGH}% over replicates")
    ax.plot(table["year"], table["model_median"], label="model median")
    ax.plot(table["year"], table["observed"], "ko", label="observed")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fragment(values: dict, objective: float, command: str, spec) -> str:
    """The fitted values as a scenario `parameters:` block, with how they were found."""
    nested: dict = {}
    for path, value in values.items():
        group, key = path.split(".")
        nested.setdefault(group, {})[key] = value
    header = (f"# Fitted by: {command}\n# on {dt.date.today().isoformat()}; objective (sum of "
              f"squared log errors of the median annual {spec.metric},\n# {spec.first_year}-"
              f"{spec.last_year}, against {spec.column}) = {objective:.4g}. See docs/calibration.md.\n")
    return header + yaml.safe_dump({"parameters": nested}, sort_keys=False)


def calibrate(args) -> Path:
    """`run.py calibrate SCENARIO.yaml`: fit, then write fitted.yaml, fit.csv, untargeted.csv,
    evaluations.csv, fit.png and summary.json into `--out`."""
    scenario = load_scenario(args.scenario)
    spec = scenario.calibration
    if spec is None:
        raise ScenarioError(f"{args.scenario}: calibration: missing; add a calibration: block "
                            "with target and free (see docs/calibration.md)")
    if spec.first_year < scenario.start.year:
        raise ScenarioError(f"{args.scenario}: calibration.target.years: {spec.first_year} is "
                            f"before the scenario starts ({scenario.start})")
    check_scheduler(args.scheduler)
    out = args.out or Path("results") / "calibration" / dt.datetime.now().strftime(
        "%Y%m%d-%H%M%S")
    with working_folder(out, args.force, args.resume, "calibrate"):
        started = time.perf_counter()
        with _progress_bar(args.lhs_points + args.max_evals, args.quiet) as bar:
            best_so_far = [math.inf]

            def progress(runs: int, objective: float | None) -> None:
                """A run finished (objective None) or a candidate was scored."""
                if objective is not None:
                    best_so_far[0] = min(best_so_far[0], objective)
                    bar.update(1)
                bar.set_postfix_str(f"{runs} runs, best objective {best_so_far[0]:.4g}")

            fit = Fit(args, scenario, spec, RunStore(out / "runs"), progress)
            values = search(fit, args.lhs_points, args.max_evals)
        table = fit_table(fit, values)
        objective = fit.best["objective"]
        command = shlex.join(["python", *sys.argv])
        summary = {"scenario": str(args.scenario), "method": "Latin hypercube screen, then bounded "
                   "Nelder-Mead (scipy)", "objective": "sum of squared log errors of the median over "
                   f"replicates of annual {spec.metric}, {spec.first_year}-{spec.last_year}",
                   "objective_value": objective, "fitted": values, "replicates": args.replicates,
                   "seeds": fit.seeds, "lhs_points": args.lhs_points, "max_evals": args.max_evals,
                   "evaluations": len(fit.evaluations), "weeks": fit.weeks,
                   "free": [vars(p) for p in spec.free], "command": command,
                   "wall_time_s": round(time.perf_counter() - started, 1)}

        def write(folder: Path) -> None:
            (folder / "fitted.yaml").write_text(fragment(values, objective, command, spec))
            table.to_csv(folder / "fit.csv", index=False, float_format="%.6g")
            untargeted_table(fit, values).to_csv(folder / "untargeted.csv", index=False,
                                                 float_format="%.6g")
            pd.DataFrame(fit.evaluations).to_csv(folder / "evaluations.csv", index=False,
                                                 float_format="%.6g")
            (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            fit_figure(table, f"{scenario.name}: {spec.metric} against {spec.column}",
                       "people/year", folder / "fit.png")

        _publish(out, write)
    if not args.quiet:
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    return out


def _progress_bar(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="eval", disable=quiet or None, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n}/{total} evaluations [{elapsed}, {postfix}]")
