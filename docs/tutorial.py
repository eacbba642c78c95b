"""Tutorial: the model as a Python library (docs/api.md).

    pip install -e '.[explore]'          # EMA Workbench and SALib
    python docs/tutorial.py --out /tmp/tutorial                      # about 15 minutes on 2 cores
    python docs/tutorial.py --out /tmp/tutorial --weeks 26 --small    # a minute (the tests run this)

Each step writes one figure into --out:
1. load a scenario, override it, run it            -> 1_override.png
2. compare two scenarios with paired replicates    -> 2_compare.png
3. a Morris screening of three parameters (SALib)   -> 3_morris.png
4. an EMA Workbench experiment over uncertainties and policy levers -> 4_ema.png
5. a Mesa batch_run grid                            -> 5_batch_run.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mesa  # noqa: E402
import pandas as pd  # noqa: E402
from ema_workbench import perform_experiments  # noqa: E402
from SALib.analyze import morris as morris_analyze  # noqa: E402
from SALib.sample import morris as morris_sample  # noqa: E402

import sim  # noqa: E402
from sim.exploration import ema_model, run_samples, salib_problem  # noqa: E402

OUTCOME = "overdose_deaths"


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def override_and_run(scenario: sim.Scenario, weeks: int | None, out: Path) -> Path:
    """1. Two runs of one scenario: as shipped, and with naloxone at 60% of overdoses."""
    treated = scenario.with_overrides({"users.naloxone_coverage": 0.6})
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, s in (("as shipped", scenario), ("naloxone 60%", treated)):
        result = sim.run(s, seed=1, weeks=weeks)
        deaths = result.timeseries[OUTCOME]            # indexed by date (datetime)
        ax.plot(deaths.index, deaths.rolling(4, min_periods=1).mean(),
                label=f"{label}: {result.totals[OUTCOME]:,.0f} {result.summary['total_units'][OUTCOME]}")
    ax.set_ylabel("overdose deaths/week (4-week mean)")
    ax.legend(fontsize=8)
    return save(fig, out / "1_override.png")


def compare_two(scenario: sim.Scenario, weeks: int | None, replicates: int, out: Path) -> Path:
    """2. The scenario against itself with a bigger sanctions list (policy field by id):
    paired replicates, differences from the first."""
    sanctions = next(p.id for p in scenario.policies if p.type_name == "sanctions")
    more = scenario.with_overrides({f"policies.{sanctions}.firms": 64})
    table = sim.compare([scenario, more], replicates=replicates, weeks=weeks, workers=1,
                        metrics=[OUTCOME, "fentanyl_to_us_kg"])
    rows = table[table["scenario"] == table["scenario"].iloc[-1]]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(rows["metric"], rows["diff_mean"],
            xerr=[rows["diff_mean"] - rows["diff_ci95_low"], rows["diff_ci95_high"] - rows["diff_mean"]])
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_title(f"64 firms on {sanctions}: mean paired difference (95% CI)", fontsize=9)
    return save(fig, out / "2_compare.png")


def morris_screening(scenario: sim.Scenario, weeks: int | None, trajectories: int,
                     out: Path) -> Path:
    """3. Which of three parameters moves deaths most (Morris elementary effects)."""
    problem = salib_problem({"users.naloxone_coverage": (0.2, 0.8),
                             "users.treatment_entry_prob": (0.001, 0.01),
                             "cartels.learning_rate": (0.1, 0.6)})
    samples = morris_sample.sample(problem, trajectories, num_levels=4, seed=1)
    deaths = run_samples(scenario, problem, samples, OUTCOME, seed=1, weeks=weeks)
    effects = morris_analyze.analyze(problem, samples, deaths, num_levels=4, seed=1)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(problem["names"], effects["mu_star"], xerr=effects["mu_star_conf"])
    ax.set_xlabel(f"mu* of total {OUTCOME}")
    return save(fig, out / "3_morris.png")


def ema_experiment(scenario: sim.Scenario, weeks: int | None, experiments: int,
                   out: Path) -> Path:
    """4. EMA Workbench: uncertain naloxone coverage and learning rate, crossed with two
    policies drawn over a sanctions lever."""
    sanctions = next(p.id for p in scenario.policies if p.type_name == "sanctions")
    model = ema_model(scenario, outcomes=[OUTCOME],
                      uncertainties={"users.naloxone_coverage": (0.2, 0.8),
                                     "cartels.learning_rate": (0.1, 0.6)},
                      levers=[f"policies.{sanctions}.firms"], seed=1, weeks=weeks)
    experiments_table, outcomes = perform_experiments(model, scenarios=experiments, policies=2)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    points = ax.scatter(experiments_table["users.naloxone_coverage"], outcomes[OUTCOME],
                        c=experiments_table[f"policies.{sanctions}.firms"].astype(float))
    fig.colorbar(points, label=f"{sanctions} firms")
    ax.set_xlabel("users.naloxone_coverage")
    ax.set_ylabel(f"total {OUTCOME}")
    return save(fig, out / "4_ema.png")


def batch_run_grid(scenario: sim.Scenario, weeks: int | None, out: Path) -> pd.DataFrame:
    """5. Mesa's batch_run over the model class itself: two coverages x two seeds, every week."""
    rows = mesa.batch_run(sim.FentanylModel, parameters={
        "scenario": scenario, "users.naloxone_coverage": [0.3, 0.7], "seed": [1, 2],
        "weeks": weeks or scenario.weeks}, data_collection_period=1, display_progress=False)
    table = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for (coverage, seed), run in table.groupby(["users.naloxone_coverage", "seed"]):
        ax.plot(run["date"], run[OUTCOME].cumsum(), label=f"coverage {coverage}, seed {seed}")
    ax.set_ylabel(f"cumulative {OUTCOME}")
    ax.legend(fontsize=8)
    save(fig, out / "5_batch_run.png")
    return table


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures")
    parser.add_argument("--weeks", type=int, help="weeks per run (default: the scenario's)")
    parser.add_argument("--small", action="store_true",
                        help="classroom size and few runs (a quick check)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    scenario = sim.load_scenario("classroom_small" if args.small else "baseline")
    replicates, trajectories, experiments = (2, 2, 3) if args.small else (10, 10, 20)
    batch_run_grid(scenario, args.weeks, args.out)
    return [override_and_run(scenario, args.weeks, args.out),
            compare_two(scenario, args.weeks, replicates, args.out),
            morris_screening(scenario, args.weeks, trajectories, args.out),
            ema_experiment(scenario, args.weeks, experiments, args.out),
            args.out / "5_batch_run.png"]


if __name__ == "__main__":
    for figure in main():
        print(figure)
