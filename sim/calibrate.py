"""`run.py calibrate`: fit a scenario's free parameters (its `calibration:` block) to observed
annual series (one or several, together), and show the fit.

Method: the scenario's own values, a Latin hypercube screen of the free parameters' box (`scipy.stats.qmc.LatinHypercube`,
seeded with the scenario's seed), then bounded Nelder-Mead (`scipy.optimize.minimize`) from the
best screened point, capped at `max_evals` evaluations. Each candidate is run with the same
seeds (replicate r uses seed + r: common random numbers), so the objective is a deterministic
function of the parameters: over every target, the sum over its years of the squared log
error of the median over replicates of the model's annual total, plus the squared errors of
its year-on-year log changes (so a plateau stays a plateau), each in units of the target's
`scale` (the log error that counts as one unit: how closely the series can be expected to
match). Runs are stored one by one (`sim.ensemble`),
so `--resume` replays the same search without rerunning finished runs.
"""

from __future__ import annotations

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

from sim.calibration_block import FISCAL_YEAR_FIRST_MONTH, Target  # noqa: E402
from sim.config import Scenario, ScenarioError, as_scenario, load_scenario  # noqa: E402
from sim.ensemble import RunSpec, RunStore, execute, replicate_seeds  # noqa: E402
from sim.plots import PLAIN_TEXT  # noqa: E402
from sim.study import _publish, check_scheduler, study_store  # noqa: E402

SIGNIFICANT_DIGITS = 4        # candidates are rounded, so what is shipped is what was run
SIMPLEX_STEP = 0.1            # initial Nelder-Mead step, as a share of each parameter's range
LOW, HIGH = 5, 95             # percentiles of the model's band
UNTARGETED = {                # column -> (how per year, scale, label): compared, never fitted
    "fentanyl_seized_kg": ("sum", 1.0, "fentanyl seized by US agencies (kg pure/year)"),
    "fentanyl_seized_mx_kg": ("sum", 1.0, "fentanyl seized in Mexico, labs included (kg pure/year)"),
    "route_share_mail_express": ("mean", 1.0, "share of fentanyl sent north by mail/express"),
    "fentanyl_to_us_kg": ("sum", 1e-3, "pure fentanyl reaching US retail (t/year)"),
    "pill_mg_mean": ("mean", 1.0, "mg fentanyl per counterfeit pill"),
    "pills_ge_2mg_share": ("mean", 1.0, "share of counterfeit pills with at least 2 mg"),
    "fentanyl_purity": ("mean", 1.0, "pure share of retail powder by weight"),
    "pill_share_of_fentanyl": ("mean", 1.0, "share of pure kg sold as counterfeit pills"),
    "retail_price_usd_per_mg": ("mean", 1.0, "retail price (US$/mg pure)"),
    "cartel_revenue_usd": ("sum", 1e-6, "cartels' wholesale revenue (US$ million/year)"),
    "users_in_treatment": ("mean", 1.0, "people on medication for opioid use disorder"),
    "overdose_deaths": ("sum", 1.0, "all opioid overdose deaths (people/year)"),
}


@dataclass(frozen=True)
class CandidateSpec(RunSpec):
    """A run of one candidate; its file is named by a hash of the parameter values (a full
    list of long floats would make file names too long)."""

    @property
    def stem(self) -> str:
        digest = hashlib.sha256(repr(self.overrides).encode()).hexdigest()[:16]
        return f"{self.label}__{digest}__seed{self.seed}"


def annual(frame: pd.DataFrame, metric: str, how: str = "sum", period: str = "calendar"
           ) -> pd.Series:
    """A weekly column per calendar year of the week's Monday (or per US fiscal year,
    October-September, named by the year it ends in)."""
    dates = pd.to_datetime(frame["date"])
    years = dates.dt.year
    if period == "fiscal":
        years = years + (dates.dt.month >= FISCAL_YEAR_FIRST_MONTH)
    grouped = frame[metric].groupby(years)
    return grouped.sum() if how == "sum" else grouped.mean()


def weeks_through(start: dt.date, last_year: int) -> int:
    """Weeks from `start` until the week that contains 31 December of `last_year`."""
    return math.ceil((dt.date(last_year + 1, 1, 1) - start).days / 7)


def rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


class Fit:
    """The objective: runs candidates (stored, so a resumed fit replays them) and scores them.
    A candidate sets `parameters` (default: the calibration block's `free`)."""

    def __init__(self, scenario, store, progress, seeds: list[int], workers: int | None = None,
                 scheduler: str | None = None, parameters=None):
        self.scenario, self.store = scenario, store
        spec = self.spec = scenario.calibration
        self.parameters = tuple(parameters or spec.free)
        self.progress, self.seeds = progress, seeds
        self.workers, self.scheduler = workers, scheduler
        self.weeks = weeks_through(scenario.start, spec.last_year)
        self.observed = {t: pd.read_csv(t.file).set_index(t.year_column)[t.column]
                         .loc[t.years].astype(float) for t in spec.targets}
        self.years = list(range(min(t.first_year for t in spec.targets), spec.last_year + 1))
        self.label = f"{scenario.name}_{scenario.sha256[:10]}"
        self.evaluations: list[dict] = []
        self.runs_done = 0

    def current_unit(self) -> np.ndarray:
        """The scenario's own values of the free parameters, as a point of the unit cube
        (clipped to the box)."""
        params = self.scenario.parameters
        return np.array([np.clip((params[p.path.split(".")[0]][p.path.split(".")[1]] - p.low)
                                 / (p.high - p.low), 0.0, 1.0) for p in self.spec.free])

    def values(self, unit: np.ndarray) -> dict[str, float]:
        """A point of the unit cube -> parameter values (rounded)."""
        return {p.path: rounded(p.low + u * (p.high - p.low))
                for p, u in zip(self.parameters, np.clip(unit, 0, 1), strict=True)}

    def candidate(self, values: dict, seed: int) -> CandidateSpec:
        """The run of a candidate with one seed."""
        return CandidateSpec(str(Path(self.scenario.file).resolve()), seed, self.weeks,
                             tuple(values.items()), self.label, self.scenario)

    def specs(self, values: dict) -> list[CandidateSpec]:
        return [self.candidate(values, seed) for seed in self.seeds]

    def annual_runs(self, values: dict, metric: str, how: str = "sum",
                    period: str = "calendar", years: list[int] | None = None) -> pd.DataFrame:
        """One row per replicate, one column per year (calendar or fiscal)."""
        rows = [annual(self.store.load(s).timeseries, metric, how, period)
                for s in self.specs(values)]
        return pd.DataFrame(rows).reindex(columns=years)

    def target_runs(self, values: dict, target: Target) -> pd.DataFrame:
        return self.annual_runs(values, target.metric, "sum", target.period, target.years)

    def score(self, values: dict) -> float:
        """Over the targets, squared log errors of the yearly medians, plus those of their
        year-on-year changes (the difference of consecutive log errors), so the fit holds each
        curve's shape (a plateau stays a plateau), not only its levels; each target's errors
        in units of its `scale`."""
        total = 0.0
        for target, observed in self.observed.items():
            median = self.target_runs(values, target).median()
            errors = np.log(np.maximum(median.to_numpy(), 1.0) / observed.to_numpy()) / target.scale
            total += float((errors ** 2).sum() + (np.diff(errors) ** 2).sum())
        return total

    def evaluate(self, units: list[np.ndarray], stage: str) -> list[float]:
        """Run every candidate's replicates in one batch, then score each."""
        candidates = [self.values(u) for u in units]
        execute([s for c in candidates for s in self.specs(c)], self.store,
                workers=self.workers, scheduler=self.scheduler,
                progress=self.runs_finished, resume=True)
        scores = []
        for values in candidates:
            scores.append(self.score(values))
            self.evaluations.append({"stage": stage, "evaluation": len(self.evaluations) + 1,
                                     **values, "objective": scores[-1]})
            self.progress(self.runs_done, scores[-1])
        return scores

    def runs_finished(self, n: int) -> None:
        self.runs_done += n
        self.progress(self.runs_done, None)

    @property
    def best(self) -> dict:
        return min(self.evaluations, key=lambda e: e["objective"])


class _BudgetSpent(Exception):
    """Nelder-Mead asked for more evaluations than `max_evals`."""


def search(fit: Fit, lhs_points: int, max_evals: int) -> dict:
    """The scenario's own values, a Latin hypercube screen, then bounded Nelder-Mead from the
    best point so far (at most `max_evals` evaluations); the best values seen (so a refit
    never ships worse than what the scenario had)."""
    dims = len(fit.spec.free)
    screen = np.vstack([fit.current_unit(),
                        qmc.LatinHypercube(d=dims, seed=fit.scenario.seed).random(lhs_points)])
    scores = fit.evaluate([screen[0]], "start") + fit.evaluate(list(screen[1:]), "lhs")
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
    fit = Fit(scenario, RunStore(folder), lambda *_: None,
              replicate_seeds(scenario.seed, replicates), workers)
    execute(fit.specs({}), fit.store, workers=workers, resume=True)
    return fit


def fit_table(fit: Fit, values: dict) -> pd.DataFrame:
    """Per target and year: metric, period (calendar or fiscal), year, observed, model median
    and 5-95% interval over replicates, error % of the median."""
    tables = []
    for target, observed in fit.observed.items():
        runs = fit.target_runs(values, target)
        median = runs.median()
        tables.append(pd.DataFrame({
            "metric": target.metric, "period": target.period, "year": target.years,
            "observed": observed.to_numpy(), "model_median": median.to_numpy(),
            "model_p5": runs.quantile(LOW / 100).to_numpy(),
            "model_p95": runs.quantile(HIGH / 100).to_numpy(),
            "error_pct": (100 * (median / observed.to_numpy() - 1)).to_numpy()}))
    return pd.concat(tables, ignore_index=True)


def untargeted_table(fit: Fit, values: dict) -> pd.DataFrame:
    """Quantities the fit did not target, per year: median and 5-95% over replicates (those
    the world has: a world without mail routes has no mail share)."""
    recorded = fit.store.load(fit.specs(values)[0]).timeseries.columns
    rows = []
    for column, (how, scale, label) in UNTARGETED.items():
        if column not in recorded:
            continue
        runs = fit.annual_runs(values, column, how, years=fit.years) * scale
        for year in fit.years:
            rows.append({"quantity": label, "column": column, "year": year,
                         "model_median": runs[year].median(),
                         "model_p5": runs[year].quantile(LOW / 100),
                         "model_p95": runs[year].quantile(HIGH / 100)})
    return pd.DataFrame(rows)


@matplotlib.rc_context(PLAIN_TEXT)
def fit_figure(table: pd.DataFrame, title: str, path: Path) -> None:
    """Per target (a panel each): observed points over the model's median and 5-95% band."""
    from sim.metrics import UNITS

    targets = list(dict.fromkeys(zip(table["metric"], table["period"], strict=True)))
    fig, axes = plt.subplots(len(targets), 1, figsize=(7, 3.2 * len(targets)), squeeze=False)
    for ax, (metric, period) in zip(axes[:, 0], targets, strict=True):
        rows = table[(table["metric"] == metric) & (table["period"] == period)]
        ax.fill_between(rows["year"], rows["model_p5"], rows["model_p95"], alpha=0.25,
                        label=f"model {LOW}-{HIGH}% over replicates")
        ax.plot(rows["year"], rows["model_median"], label="model median")
        ax.plot(rows["year"], rows["observed"], "ko", label="observed")
        unit = UNITS.get(metric, "").replace("/week", "/year")
        ax.set_title(f"{title}: {metric}", fontsize=9)
        ax.set_ylabel(unit)
        ax.set_xlabel("fiscal year (October-September)" if period == "fiscal" else "year")
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
    fitted = "; ".join(t.label for t in spec.targets)
    header = (f"# Fitted by: {command}\n# on {dt.date.today().isoformat()}; objective (sum of "
              f"squared log errors of the median annual totals and of their\n# year-on-year "
              f"changes: {fitted}) = {objective:.4g}. See docs/calibration.md.\n")
    return header + yaml.safe_dump({"parameters": nested}, sort_keys=False)


def calibrated_scenario(scenario) -> Scenario:
    """The scenario (a `Scenario`, a shipped name or a file), which must have a calibration:
    block whose targets start within its run."""
    where = scenario.file if isinstance(scenario, Scenario) else scenario
    scenario = as_scenario(scenario)
    spec = scenario.calibration
    if spec is None:
        raise ScenarioError(f"{where}: calibration: missing; add a calibration: block "
                            "with target and free (see docs/calibration.md)")
    for target in spec.targets:
        if target.first_year < target.year_of(scenario.start):
            raise ScenarioError(f"{where}: calibration: targets: {target.label}: its first "
                                f"year is before the scenario starts ({scenario.start})")
    return scenario


def calibrate(scenario, replicates: int = 8, seed: int | None = None, lhs_points: int = 24,
              max_evals: int = 40, workers: int | None = None, scheduler: str | None = None,
              out: Path | None = None, force: bool = False, resume: bool = False,
              quiet: bool = True) -> pd.DataFrame:
    """Fit the free parameters of a scenario's `calibration:` block (a `Scenario`, a shipped
    name or a file) to its observed series. Returns the fit table (year, observed, model median
    and 5-95% over replicates, error %) at the best values found; with `out`, also writes
    fitted.yaml, fit.csv, untargeted.csv, evaluations.csv, fit.png and summary.json there
    (`run.py calibrate`; a posterior instead: `sim.posterior.calibrate_posterior`)."""
    where = scenario.file if isinstance(scenario, Scenario) else scenario
    scenario = calibrated_scenario(scenario)
    spec = scenario.calibration
    check_scheduler(scheduler)
    seeds = replicate_seeds(scenario.seed if seed is None else seed, replicates)
    with study_store(out, force, resume, "calibrate") as store:
        started = time.perf_counter()
        with _progress_bar(1 + lhs_points + max_evals, quiet) as bar:
            best_so_far = [math.inf]

            def progress(runs: int, objective: float | None) -> None:
                """A run finished (objective None) or a candidate was scored."""
                if objective is not None:
                    best_so_far[0] = min(best_so_far[0], objective)
                    bar.update(1)
                bar.set_postfix_str(f"{runs} runs, best objective {best_so_far[0]:.4g}")

            fit = Fit(scenario, store, progress, seeds, workers, scheduler)
            values = search(fit, lhs_points, max_evals)
        table = fit_table(fit, values)
        objective = fit.best["objective"]
        command = shlex.join(["python", *sys.argv])
        summary = {"scenario": str(where), "method": "Latin hypercube screen, then bounded "
                   "Nelder-Mead (scipy)", "objective": "sum over targets of squared log errors of "
                   "the median over replicates of annual totals and of their year-on-year "
                   "changes", "targets": [t.label for t in spec.targets],
                   "objective_value": objective, "fitted": values, "replicates": replicates,
                   "seeds": fit.seeds, "lhs_points": lhs_points, "max_evals": max_evals,
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
            fit_figure(table, scenario.name, folder / "fit.png")

        if out is not None:
            _publish(out, write)
    return table


def _progress_bar(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="eval", disable=quiet or None, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n}/{total} evaluations [{elapsed}, {postfix}]")
