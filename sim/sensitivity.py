"""Sensitivity of outcomes, and of a policy's effect, to the uncertain parameters
(`run.py sensitivity`, `sim.sensitivity`).

SALib samples the parameters' ranges (`sim.uncertain`): Sobol' indices from Saltelli's scheme
(N x (D + 2) points for D parameters, first-order and total indices), or Morris's elementary
effects (N trajectories of D + 1 points; a cheaper screen). At each point the base scenario and
the policy run paired (`sim.points`), and SALib attributes the variance of each outcome to the
parameters: the base's and the policy's totals and the effect (the policy's total minus the
base's). Writes sensitivity.csv (outcome, parameter, S1, S1_conf, ST, ST_conf; or mu_star,
sigma), samples.csv, parameters.csv and a ranked bar figure per outcome.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.ensemble import EnsembleError  # noqa: E402
from sim.metrics import HOW, UNITS  # noqa: E402
from sim.output import total_unit  # noqa: E402
from sim.plots import PLAIN_TEXT, save_slide, slide_figure  # noqa: E402
from sim.points import (  # noqa: E402
    outcomes,
    paired_design,
    run_points,
    samples_table,
    write_design,
)
from sim.study import _publish, check_metrics, study_store  # noqa: E402
from sim.uncertain import salib_problem  # noqa: E402
from sim.validation import ScenarioError  # noqa: E402

METHODS = ("sobol", "morris")
COLUMNS = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"), "morris": ("mu_star", "sigma")}
RANKED_BY = {"sobol": "ST", "morris": "mu_star"}
DEFAULT_METRICS = ("overdose_deaths", "fentanyl_to_us_kg")
MORRIS_LEVELS = 4


def salib():
    """SALib's sample and analyze modules (the `explore` extra)."""
    try:
        from SALib.analyze import morris as morris_analyze
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise EnsembleError("sensitivity needs SALib: pip install -e '.[explore]'") from None
    return {"sobol": (sobol_sample, sobol_analyze), "morris": (morris_sample, morris_analyze)}


def check_method(method: str, n: int) -> None:
    if method not in METHODS:
        raise ScenarioError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(n, int) or n < 2:
        raise ScenarioError(f"--n: expected a whole number of 2 or more, got {n!r}")
    if method == "sobol" and n & (n - 1):
        raise ScenarioError(f"--n: {n}: expected a power of 2 for Sobol' sampling (its balance "
                            "properties need it), e.g. 32, 64 or 128")


def sample(problem: dict, method: str, n: int, seed: int) -> np.ndarray:
    """The points to run: N x (D + 2) for Sobol' (first-order and total indices), N x (D + 1)
    for Morris (N trajectories on a 4-level grid)."""
    sampler, _ = salib()[method]
    if method == "sobol":
        return sampler.sample(problem, n, calc_second_order=False, seed=seed)
    return sampler.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)


def indices(problem: dict, method: str, samples: np.ndarray, values: np.ndarray, seed: int
            ) -> pd.DataFrame:
    """One row per parameter with the method's columns (`COLUMNS`); NaN for an outcome that
    takes one value at every point (no variance to attribute)."""
    columns = COLUMNS[method]
    if np.ptp(values) == 0:
        return pd.DataFrame({"parameter": problem["names"],
                             **{c: np.full(problem["num_vars"], np.nan) for c in columns}})
    _, analyzer = salib()[method]
    if method == "sobol":
        result = analyzer.analyze(problem, values, calc_second_order=False, seed=seed)
    else:
        result = analyzer.analyze(problem, samples, values, num_levels=MORRIS_LEVELS, seed=seed)
    return pd.DataFrame({"parameter": problem["names"],
                         **{c: np.asarray(result[c], float) for c in columns}})


def sensitivity_table(problem: dict, method: str, samples: np.ndarray,
                      results: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    """sensitivity.csv: per outcome, its parameters ranked (largest total index or mu* first)."""
    frames = [indices(problem, method, samples, values, seed)
              .sort_values(RANKED_BY[method], ascending=False, kind="stable")
              .assign(outcome=name) for name, values in results.items()]
    return pd.concat(frames, ignore_index=True)[["outcome", "parameter", *COLUMNS[method]]]


def outcome_label(outcome: str, base: str, policy: str | None) -> tuple[str, str]:
    """An outcome in words, and the unit of its total."""
    head, metric = outcome.split(".", 1)
    unit = total_unit(UNITS.get(metric, ""), HOW.get(metric, "mean"))
    if head == "effect":
        return f"effect on {metric}: {policy} minus {base}", unit
    return f"{metric} under {head}", unit


@matplotlib.rc_context(PLAIN_TEXT)
def ranked_figure(table: pd.DataFrame, outcome: str, method: str, label: tuple[str, str],
                  window: str, points: int, path: Path) -> Path:
    """One outcome's parameters as horizontal bars, the most influential at the top: Sobol'
    total (ST) and first-order (S1) indices with their 95% confidence, or Morris mu* and
    sigma. `label` is the outcome in words and its unit (`outcome_label`)."""
    words, unit = label
    rows = table[table["outcome"] == outcome][::-1]
    fig, ax = slide_figure(1.6 + 0.36 * len(rows))
    y = np.arange(len(rows))
    if rows[RANKED_BY[method]].isna().all():
        ax.text(0.5, 0.5, "the outcome takes one value at every point: nothing to attribute",
                ha="center", va="center", transform=ax.transAxes)
    elif method == "sobol":
        ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], color="C0", label="total (ST)",
                error_kw={"lw": 0.8})
        ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], color="C1",
                label="first-order (S1)", error_kw={"lw": 0.8})
        ax.set_xlabel("share of the outcome's variance (Sobol' index; bars: 95% confidence)")
    else:
        ax.barh(y + 0.2, rows["mu_star"], 0.4, color="C0", label="mu* (mean |effect|)")
        ax.barh(y - 0.2, rows["sigma"], 0.4, color="C1", label="sigma (interactions, "
                "non-linearity)")
        ax.set_xlabel(f"change of the outcome over a parameter's range ({unit})")
    ax.set_yticks(y, rows["parameter"])
    ax.axvline(0, color="0.3", lw=0.8)
    ax.grid(axis="x", alpha=0.3)
    name = "Sobol'" if method == "sobol" else "Morris"
    ax.set_title("\n".join([*textwrap.wrap(f"{words} ({unit})", 90),
                            f"{name} sensitivity over {points} points, totals {window}"]),
                 fontsize=10)
    if not rows[RANKED_BY[method]].isna().all():
        ax.legend(fontsize=8, loc="lower right")
    return save_slide(fig, path)


def sensitivity(base, policy=None, method: str = "sobol", n: int = 64, parameters=None,
                posterior: Path | None = None, metrics=None, window: str | None = None,
                replicates: int = 1, seed: int | None = None, weeks: int | None = None,
                workers: int | None = None, scheduler: str | None = None, out: Path | None = None,
                force: bool = False, resume: bool = False, quiet: bool = True) -> pd.DataFrame:
    """Sensitivity of `base` (and, with `policy`, of the policy's effect) to the uncertain
    parameters (`parameters`: paths or {path: (low, high)}; default `sim.uncertain`'s set, or
    the posterior's), by `method` ('sobol' or 'morris') with `n` base samples. Each point runs
    `replicates` paired seeds (seed + r) and takes their mean. Returns the sensitivity table;
    with `out`, writes it (sensitivity.csv) with samples.csv, parameters.csv and figures there
    (`run.py sensitivity`)."""
    check_method(method, n)
    metrics = check_metrics(metrics or DEFAULT_METRICS)
    design = paired_design(base, policy, parameters, posterior, window, replicates, seed, weeks,
                           scheduler)
    problem = salib_problem(design.uncertain)
    samples = sample(problem, method, n, design.seeds[0])
    with study_store(out, force, resume, "sensitivity") as store:
        totals = run_points(design, samples, metrics, store, workers, scheduler, resume, quiet)
        results = outcomes(design, totals)
        table = sensitivity_table(problem, method, samples, results, design.seeds[0])
        if out is not None:
            def write(folder: Path) -> None:
                table.to_csv(folder / "sensitivity.csv", index=False)
                write_design(folder, design, samples_table(design, samples, results))
                (folder / "figures").mkdir()
                for outcome in results:
                    ranked_figure(table, outcome, method,
                                  outcome_label(outcome, design.base, design.policy),
                                  design.window.label, len(samples),
                                  folder / "figures" / f"{outcome}.png")

            _publish(out, write)
    return table


def top(table: pd.DataFrame, most: int = 3) -> str:
    """Each outcome's most influential parameters, for the terminal."""
    measure = "ST" if "ST" in table.columns else "mu_star"
    lines = []
    for outcome, rows in table.groupby("outcome", sort=False):
        ranked = ", ".join(f"{r.parameter} {getattr(r, measure):.2g}"
                           for r in rows.head(most).itertuples())
        lines.append(f"{outcome}: {ranked}" if ranked else outcome)
    return f"most influential ({measure}):\n  " + "\n  ".join(lines)
