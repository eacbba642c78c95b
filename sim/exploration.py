"""Exploratory modelling with the tools researchers already use (the `explore` extra:
`pip install 'fentanyl-sim[explore]'`): an EMA Workbench `Model` of a scenario and SALib
problems, both from the parameter table.

The table's ranges are the values a scenario may set (what the model can run), not plausible
ranges: pass {path: (low, high)} to narrow them (checked to lie within the table's).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.api import run
from sim.config import OVERRIDES, Scenario, as_scenario, check_override
from sim.params import TABLE, rows
from sim.study import check_metrics
from sim.validation import fail

# parameters that set the model's resolution (how many agents stand for the same world), not
# an uncertainty about the world: left out of the default uncertainties
RESOLUTION = ("users.agents", "users.slot_headroom", "makers.firms", "makers.slot_headroom")
DEFAULT_OUTCOMES = ("overdose_deaths", "fentanyl_to_us_kg", "fentanyl_seized_kg")


def ranges(paths=None) -> dict[str, tuple[float, float]]:
    """{path: (low, high)}: each parameter's range from the table (`paths` a list; default every
    ranged parameter but the resolution ones) or narrowed ({path: (low, high)}, each bound
    checked as an override of that parameter)."""
    if paths is None:
        paths = [path for path, p in rows() if p.low is not None and path not in RESOLUTION]
    if not isinstance(paths, dict):
        paths = {path: None for path in paths}
    out = {}
    for path, bounds in paths.items():
        check_override(path, table_default(path))    # an unknown path fails here, by name
        p = TABLE[path.split(".")[0]][path.split(".")[1]]
        if bounds is None:
            low, high = p.low, p.high
        else:
            low, high = (check_override(path, value) for value in bounds)
        if not low < high:
            fail(OVERRIDES, (path,), f"expected a range low < high, got [{low}, {high}]")
        out[path] = (low, high)
    return out


def table_default(path: str):
    """The parameter table's default of `group.key`; None for a path not in the table."""
    group, _, key = path.partition(".")
    return TABLE[group][key].value if group in TABLE and key in TABLE[group] else None


def is_whole(path: str) -> bool:
    """A parameter that takes whole numbers (its default is an int)."""
    return isinstance(table_default(path), int)


def salib_problem(paths=None) -> dict:
    """A SALib problem (`num_vars`, `names`, `bounds`) over parameters of the table: `paths` a
    list (table ranges) or {path: (low, high)}; default every ranged parameter but the
    resolution ones. Run its samples with `run_samples`."""
    bounds = ranges(paths)
    return {"num_vars": len(bounds), "names": list(bounds),
            "bounds": [[low, high] for low, high in bounds.values()]}


def run_samples(scenario: Scenario | str | Path, problem: dict, samples: np.ndarray,
                outcome: str = "overdose_deaths", seed: int | None = None,
                weeks: int | None = None) -> np.ndarray:
    """The run total of `outcome` for each row of a SALib sample (whole-number parameters
    rounded), with the same seed for every row (common random numbers)."""
    scenario = as_scenario(scenario)
    return np.array([run(scenario, seed, weeks, _overrides(problem["names"], row)).totals[outcome]
                     for row in samples])


def _overrides(names, values) -> dict:
    return {name: round(float(v)) if is_whole(name) else float(v)
            for name, v in zip(names, values, strict=True)}


@dataclass(frozen=True)
class ScenarioFunction:
    """What EMA Workbench calls for an experiment: the scenario with the experiment's values as
    overrides, run with one seed; returns the run totals of the outcomes. Picklable, so EMA's
    multiprocessing evaluator can send it to its workers."""

    scenario: Scenario
    outcomes: tuple[str, ...]
    seed: int | None = None
    weeks: int | None = None

    def __call__(self, **values) -> dict[str, float]:
        totals = run(self.scenario, self.seed, self.weeks, values).totals
        return {name: totals[name] for name in self.outcomes}


def policy_levers(scenario: Scenario) -> list:
    """EMA levers: every numeric field with a range and every true/false field (`enabled`
    among them) of the scenario's policies that have an `id`, named `policies.<id>.<field>`."""
    from ema_workbench import BooleanParameter, IntegerParameter, RealParameter

    levers = []
    for policy in scenario.policies:
        if policy.id is None:
            continue
        for f in dataclasses.fields(policy):
            name, meta = f"policies.{policy.id}.{f.name}", f.metadata
            hint = str(f.type)
            if hint.startswith("bool"):
                levers.append(BooleanParameter(name))
            elif meta.get("low") is not None and meta.get("high") is not None and \
                    meta["low"] < meta["high"]:
                kind = IntegerParameter if hint.startswith("int") else RealParameter
                levers.append(kind(name, meta["low"], meta["high"]))
    return levers


def ema_model(scenario: Scenario | str | Path, outcomes=DEFAULT_OUTCOMES, uncertainties=None,
              levers=None, seed: int | None = None, weeks: int | None = None):
    """An EMA Workbench `Model` of a scenario (a `Scenario`, a shipped name or a file):
    uncertainties are parameters of the table with their ranges (`uncertainties` as for
    `salib_problem`), levers the scenario's policy fields (`policy_levers`; `levers` a list of
    their names to keep), outcomes run totals (`ScalarOutcome`s of output columns)."""
    from ema_workbench import IntegerParameter, Model, RealParameter, ScalarOutcome

    scenario = as_scenario(scenario)
    outcomes = check_metrics(tuple(outcomes))
    model = Model("".join(c for c in scenario.name if c.isalnum()) or "scenario",
                  function=ScenarioFunction(scenario, outcomes, seed, weeks))
    model.uncertainties = [IntegerParameter(path, int(low), int(high)) if is_whole(path)
                           else RealParameter(path, low, high)
                           for path, (low, high) in ranges(uncertainties).items()]
    all_levers = policy_levers(scenario)
    if levers is not None:
        known = {lever.name: lever for lever in all_levers}
        for name in levers:
            if name not in known:
                fail(OVERRIDES, (name,), "not a lever of this scenario. valid levers: "
                     + ", ".join(known))
        all_levers = [known[name] for name in levers]
    model.levers = all_levers
    model.outcomes = [ScalarOutcome(name) for name in outcomes]
    return model
