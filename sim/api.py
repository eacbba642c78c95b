"""The public API (`import sim`): load a scenario, override it, run it, and run studies.

    import sim
    scenario = sim.load_scenario("classroom_small").with_overrides({"users.naloxone_coverage": 0.6})
    result = sim.run(scenario, seed=1, weeks=52)
    result.timeseries["overdose_deaths"].plot()

Every value is checked as in a scenario file, with the same messages (`sim.ScenarioError`);
docs/api.md documents it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.config import Scenario
from sim.config import find_scenario as load_scenario
from sim.ensemble import run_model
from sim.output import summary, timeseries

__all__ = ["Result", "load_scenario", "run"]


@dataclass
class Result:
    """One run: `timeseries` (one row per week, indexed by the week's Monday as a datetime;
    `step` then every output column, in real-world units), `totals` (per column: the sum of a
    weekly flow or the mean of a level, as in summary.json) and `summary` (what summary.json
    holds: scenario, seed, horizon, totals with `units`, `total_units` and `how_totalled`,
    policies and dated events)."""

    scenario: Scenario
    timeseries: pd.DataFrame
    summary: dict

    @property
    def totals(self) -> dict[str, float]:
        return self.summary["totals"]


def run(scenario: Scenario | str | Path, seed: int | None = None, weeks: int | None = None,
        overrides: dict | None = None) -> Result:
    """Run a scenario (a `Scenario`, a shipped scenario's name or a file path) with its own seed
    and horizon unless `seed` or `weeks` are given, and `overrides` (dotted keys, as
    `Scenario.with_overrides`)."""
    model, seconds = run_model(scenario, seed, weeks, overrides)
    frame = model.recorder.get_model_vars_dataframe()
    return Result(model.scenario, timeseries(frame), summary(model, seconds, frame))
