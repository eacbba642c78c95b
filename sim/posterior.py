"""`run.py calibrate --method posterior`: a posterior over a scenario's free parameters and
priors (its `calibration:` block) given its observed targets, by Gaussian-process emulation of
the model and MCMC on the emulator (`sim.emulator`; docs/uncertainty.md says why).

1. design: a Latin hypercube of `design_points` points over the priors' box, each run with the
   replicate seeds (common random numbers, as the point fit);
2. the emulator of each target year's log median, and the posterior it implies (emcee);
3. refinement: `refine_points` draws of that posterior are run too; the emulator's predictions
   of them, made before they ran, are its validation; the emulator is refitted on every run
   and the posterior sampled again;
4. `draws` evenly spaced samples of the chain are the posterior (`posterior.csv`, equal
   weights); `check_runs` of them are run once each (new seeds) for the posterior predictive
   band over the observed points.

Every run is kept (`sim.ensemble.RunStore`), and every step is seeded from the seed, so
`--resume` replays the same steps and runs only what is missing.
"""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from scipy.stats import qmc  # noqa: E402

from sim.calibrate import HIGH, LOW, Fit, annual, calibrated_scenario  # noqa: E402
from sim.config import Scenario  # noqa: E402
from sim.emulator import Emulator, Likelihood, emulated_log_posterior, sample, walkers_start  # noqa: E402
from sim.ensemble import execute, replicate_seeds  # noqa: E402
from sim.plots import PLAIN_TEXT  # noqa: E402
from sim.posterior_file import DRAW, WEIGHT  # noqa: E402
from sim.study import _progress_bar, _publish, check_scheduler, study_store  # noqa: E402

DESIGN_PER_DIMENSION = 20      # design points per sampled parameter (default)
REFINE_PER_DIMENSION = 10      # refinement points per sampled parameter (default)
MCMC_STEPS = 2000              # per walker; the first half is burn-in
Z90 = 1.6449                   # half-width of a central 90% normal interval, in sd
NOISE_DRAWS = 200              # observation-error draws per check run (predicted observations)


class PosteriorStudy:
    """The runs of a posterior calibration and what is computed from them."""

    def __init__(self, fit: Fit, seed: int):
        self.fit, self.seed = fit, seed
        self.parameters = fit.parameters
        spec = fit.spec
        self.targets = spec.targets
        self.likelihood = Likelihood(
            np.log(np.concatenate([fit.observed[t].to_numpy() for t in self.targets])),
            np.concatenate([np.full(len(t.years), spec.log_error(t)) for t in self.targets]))   # sd
        self.points: list[np.ndarray] = []     # unit-cube points run, by stage
        self.outputs: list[np.ndarray] = []
        self.stages: list[str] = []

    def unit(self, values: dict) -> np.ndarray:
        return np.array([(values[p.path] - p.low) / (p.high - p.low) for p in self.parameters])

    def run(self, units: np.ndarray, stage: str) -> np.ndarray:
        """Run the points (rounded as the point fit rounds them) with every replicate seed;
        returns their log medians (points x target years) and records them."""
        candidates = [self.fit.values(u) for u in units]
        execute([s for c in candidates for s in self.fit.specs(c)], self.fit.store,
                workers=self.fit.workers, scheduler=self.fit.scheduler,
                progress=self.fit.runs_finished, resume=True)
        outputs = np.array([self.log_medians(c) for c in candidates])
        self.points.append(np.array([self.unit(c) for c in candidates]))
        self.outputs.append(outputs)
        self.stages += [stage] * len(candidates)
        return outputs

    def log_medians(self, values: dict) -> np.ndarray:
        return np.concatenate([np.log(np.maximum(self.fit.target_runs(values, t).median()
                                                 .to_numpy(), 1.0)) for t in self.targets])

    def emulate(self) -> tuple[Emulator, np.ndarray, np.ndarray]:
        """The emulator of every run so far, and the points with their likelihoods."""
        x, y = np.vstack(self.points), np.vstack(self.outputs)
        return Emulator(x, y, self.seed % 2**32), x, self.likelihood.of_outputs(y)

    def chain(self, steps: int, seed: int):
        """The emulator of every run so far and an MCMC chain of its posterior, on one BLAS
        thread (the matrices are small: more threads only contend, on a shared machine
        ten times slower)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            emulator, x, log_lik = self.emulate()
            return emulator, sample(emulated_log_posterior(emulator, self.likelihood),
                                    walkers_start(x, log_lik, seed), steps, seed)

    def design_table(self) -> pd.DataFrame:
        """design.csv: every point run (stage, values, log-likelihood of its medians)."""
        x, y = np.vstack(self.points), np.vstack(self.outputs)
        rows = [{"stage": stage, **self.fit.values(u), "log_likelihood": ll}
                for stage, u, ll in zip(self.stages, x, self.likelihood.of_outputs(y),
                                        strict=True)]
        return pd.DataFrame(rows)

    def check(self, draws: pd.DataFrame, runs: int, first_seed: int) -> dict:
        """Run `runs` posterior draws once each (seeds first_seed, first_seed + 1, ...);
        returns {target: DataFrame of annual totals, a row per run}."""
        picked = draws.iloc[np.linspace(0, len(draws) - 1, runs).round().astype(int)]
        specs = [self.fit.candidate(dict(zip(self._paths, map(float, row), strict=True)), seed)
                 for row, seed in zip(picked[list(self._paths)].to_numpy(),
                                      replicate_seeds(first_seed, runs), strict=True)]
        execute(specs, self.fit.store, workers=self.fit.workers, scheduler=self.fit.scheduler,
                progress=self.fit.runs_finished, resume=True)
        frames = [self.fit.store.load(s).timeseries for s in specs]
        return {t: pd.DataFrame([annual(f, t.metric, "sum", t.period) for f in frames])
                .reindex(columns=t.years) for t in self.targets}

    @property
    def _paths(self) -> list[str]:
        return [p.path for p in self.parameters]


def emulator_validation(emulator: Emulator, x: np.ndarray, y: np.ndarray, targets) -> list[dict]:
    """Per target: how the emulator fitted before the refinement predicted the refinement
    runs (unseen): the share of their log medians inside its 90% predictive interval (0.9
    if it is calibrated) and the root-mean-square error in log units."""
    mean, variance = emulator.predict(x, noise=True)
    inside = np.abs(y - mean) <= Z90 * np.sqrt(variance)
    out, start = [], 0
    for target in targets:
        cols = slice(start, start + len(target.years))
        start = cols.stop
        out.append({"target": target.label, "points": int(len(x)),
                    "inside_90": float(inside[:, cols].mean()),
                    "rmse_log": float(np.sqrt(np.mean((y[:, cols] - mean[:, cols]) ** 2)))})
    return out


def predictive_table(study: PosteriorStudy, checked: dict, seed: int) -> pd.DataFrame:
    """Per target year: observed; the 5-95% band of the design runs' medians (the prior's);
    the model at posterior draws (median, 5-95%); the predicted observation (the model times
    its observation error, 5-95%); whether the observation is inside the predicted band."""
    rng = np.random.default_rng(seed)
    design = np.vstack(study.outputs)[np.array(study.stages) == "design"]
    rows, start = [], 0
    for target in study.targets:
        runs = checked[target].to_numpy()
        sd = study.fit.spec.log_error(target)
        noisy = runs[None] * np.exp(rng.normal(0, sd, (NOISE_DRAWS, *runs.shape)))
        noisy = noisy.reshape(-1, runs.shape[1])
        for j, year in enumerate(target.years):
            observed = float(study.fit.observed[target].loc[year])
            low, high = np.percentile(noisy[:, j], [LOW, HIGH])
            rows.append({
                "metric": target.metric, "period": target.period, "year": year,
                "observed": observed,
                "prior_p5": float(np.exp(np.percentile(design[:, start + j], LOW))),
                "prior_p95": float(np.exp(np.percentile(design[:, start + j], HIGH))),
                "model_median": float(np.median(runs[:, j])),
                "model_p5": float(np.percentile(runs[:, j], LOW)),
                "model_p95": float(np.percentile(runs[:, j], HIGH)),
                "predicted_p5": float(low), "predicted_p95": float(high),
                "inside_90": bool(low <= observed <= high)})
        start += len(target.years)
    return pd.DataFrame(rows)


@matplotlib.rc_context(PLAIN_TEXT)
def predictive_figure(table: pd.DataFrame, title: str, path: Path) -> None:
    """A panel per target: the observed points over the posterior predictive bands (and the
    prior's, from the design runs, for how far the data narrowed it)."""
    from sim.metrics import UNITS

    targets = list(dict.fromkeys(zip(table["metric"], table["period"], strict=True)))
    fig, axes = plt.subplots(len(targets), 1, figsize=(7.5, 3.4 * len(targets)), squeeze=False)
    for ax, (metric, period) in zip(axes[:, 0], targets, strict=True):
        rows = table[(table["metric"] == metric) & (table["period"] == period)]
        ax.plot(rows["year"], rows["prior_p5"], "k:", lw=1, label="prior 5-95% (design runs)")
        ax.plot(rows["year"], rows["prior_p95"], "k:", lw=1)
        ax.fill_between(rows["year"], rows["predicted_p5"], rows["predicted_p95"], alpha=0.18,
                        color="C0", label="predicted observation 5-95%")
        ax.fill_between(rows["year"], rows["model_p5"], rows["model_p95"], alpha=0.35,
                        color="C0", label="model at posterior draws 5-95%")
        ax.plot(rows["year"], rows["model_median"], color="C0", label="model median")
        ax.plot(rows["year"], rows["observed"], "ko", label="observed")
        ax.set_title(f"{title}: {metric}", fontsize=9)
        ax.set_ylabel(textwrap.fill(UNITS.get(metric, "").replace("/week", "/year"), 36),
                      fontsize=8)
        ax.set_xlabel("fiscal year (October-September)" if period == "fiscal" else "year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        top = max(rows["observed"].max(), rows["predicted_p95"].max()) * 1.15
        ax.set_ylim(0, top)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@matplotlib.rc_context(PLAIN_TEXT)
def marginals_figure(draws: pd.DataFrame, parameters, path: Path) -> None:
    """A histogram per parameter over its prior range (the prior is flat on it)."""
    cols = 3
    rows = -(-len(parameters) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.4 * rows), squeeze=False)
    for ax, p in zip(axes.flat, parameters, strict=False):
        ax.hist(draws[p.path], bins=30, range=(p.low, p.high), weights=draws[WEIGHT],
                density=True, color="C0", alpha=0.7)
        ax.axhline(1 / (p.high - p.low), color="k", ls=":", lw=1)
        ax.set_title(p.path, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(parameters):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def quantiles(draws: pd.DataFrame) -> pd.DataFrame:
    """Per parameter (every column but draw and weight): weighted mean and 5/50/95%
    quantiles of the draws."""
    weights = draws[WEIGHT].to_numpy()
    rows = []
    for path in draws.columns.drop([DRAW, WEIGHT], errors="ignore"):
        values = draws[path].to_numpy()
        order = np.argsort(values, kind="stable")
        cdf = np.cumsum(weights[order]) / weights.sum()
        rows.append({"parameter": path, "mean": float(np.average(values, weights=weights)),
                     **{f"p{round(100 * q)}": float(values[order][np.searchsorted(cdf, q)])
                        for q in (0.05, 0.5, 0.95)}})
    return pd.DataFrame(rows)


def calibrate_posterior(scenario, replicates: int = 3, seed: int | None = None,
                        design_points: int | None = None, refine_points: int | None = None,
                        draws: int = 1000, check_runs: int = 60, steps: int = MCMC_STEPS,
                        workers: int | None = None, scheduler: str | None = None,
                        out: Path | None = None, force: bool = False, resume: bool = False,
                        quiet: bool = True) -> pd.DataFrame:
    """The posterior of a scenario's free parameters and priors given its targets (module
    docstring). Returns the draws (draw, a column per parameter, weight); with `out`, also
    writes posterior.csv, posterior_predictive.png, predictive.csv, posterior_marginals.png,
    design.csv and summary.json there (`run.py calibrate --method posterior`)."""
    where = scenario.file if isinstance(scenario, Scenario) else scenario
    scenario = calibrated_scenario(scenario)
    spec = scenario.calibration
    dims = len(spec.sampled)
    design_points = DESIGN_PER_DIMENSION * dims if design_points is None else design_points
    refine_points = REFINE_PER_DIMENSION * dims if refine_points is None else refine_points
    if design_points < 2:
        from sim.validation import ScenarioError

        raise ScenarioError(f"design points: expected 2 or more, got {design_points}")
    check_scheduler(scheduler)
    first_seed = scenario.seed if seed is None else seed
    seeds = replicate_seeds(first_seed, replicates)
    check_seeds = replicate_seeds(first_seed + replicates, check_runs)
    planned = (design_points + refine_points) * replicates + check_runs
    with study_store(out, force, resume, "calibrate") as store:
        started = time.perf_counter()
        with _progress_bar(planned, quiet) as bar:
            def progress(runs: int, _objective) -> None:
                bar.update(runs - bar.n)

            def stage(text: str) -> None:
                bar.set_postfix_str(text)

            fit = Fit(scenario, store, progress, seeds, workers, scheduler, spec.sampled)
            study = PosteriorStudy(fit, first_seed)
            stage("design runs")
            study.run(qmc.LatinHypercube(d=dims, seed=first_seed).random(design_points), "design")
            stage("emulator and MCMC")
            emulator, chain = study.chain(steps, first_seed)
            validation = []
            if refine_points:
                stage("refinement runs")
                flat = chain.flat
                picked = np.random.default_rng(first_seed).choice(len(flat), refine_points,
                                                                  replace=False)
                outputs = study.run(flat[picked], "refine")
                validation = emulator_validation(emulator, study.points[-1], outputs,
                                                 spec.targets)
                stage("emulator and MCMC again")
                emulator, chain = study.chain(steps, first_seed + 1)
            samples = chain.thinned(draws)
            table = pd.DataFrame([{DRAW: i + 1, **fit.values(u), WEIGHT: 1.0}
                                  for i, u in enumerate(samples)])
            stage("posterior predictive runs")
            checked = study.check(table, check_runs, check_seeds[0]) if check_runs else None
        predictive = predictive_table(study, checked, first_seed) if checked else None
        summary = {
            "scenario": str(where), "method": "Gaussian-process emulator (scikit-learn) of each "
            "target year's log median over a Latin hypercube design and refinement runs; MCMC "
            "on the emulator (emcee, differential-evolution moves)",
            "versions": _versions(), "likelihood": "independent normal log errors per target "
            "year, variance = observation_error^2 + emulator variance",
            "targets": [{"target": t.label, "observation_error_sd": spec.log_error(t)}
                        for t in spec.targets],
            "parameters": [{**vars(p), "kind": "free" if p in spec.free else "prior"}
                           for p in spec.sampled],
            "replicates": replicates, "seeds": seeds, "weeks": fit.weeks,
            "design_points": design_points, "refine_points": refine_points,
            "runs": int(sum(len(s) for s in study.points) * replicates + check_runs),
            "mcmc": {"walkers": chain.samples.shape[1], "steps": steps,
                     "kept_steps": chain.samples.shape[0], "acceptance": chain.acceptance,
                     "autocorr_steps": dict(zip(study._paths, chain.autocorr_steps.tolist(),
                                                strict=True)),
                     "ess": dict(zip(study._paths, chain.ess.tolist(), strict=True))},
            "ess": float(chain.ess.min()), "draws": draws,
            "emulator": {**emulator.describe(), "validation": validation},
            "posterior": quantiles(table).set_index("parameter").to_dict("index"),
            "predictive": None if predictive is None else {
                "check_runs": check_runs, "check_seeds": check_seeds,
                "observed_inside_90": float(predictive["inside_90"].mean())},
            "command": shlex.join(["python", *sys.argv]),
            "wall_time_s": round(time.perf_counter() - started, 1)}

        def write(folder: Path) -> None:
            table.to_csv(folder / "posterior.csv", index=False, float_format="%.6g")
            study.design_table().to_csv(folder / "design.csv", index=False, float_format="%.6g")
            if predictive is not None:
                predictive.to_csv(folder / "predictive.csv", index=False, float_format="%.6g")
                predictive_figure(predictive, scenario.name, folder / "posterior_predictive.png")
            marginals_figure(table, spec.sampled, folder / "posterior_marginals.png")
            (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

        if out is not None:
            _publish(out, write)
    return table


def _versions() -> dict:
    import emcee
    import sklearn

    return {"scikit-learn": sklearn.__version__, "emcee": emcee.__version__}
