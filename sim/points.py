"""Paired runs at points of parameter space, for sensitivity studies and scenario discovery.

At each point (one value per uncertain parameter) the base scenario and the policy scenario run
with the same replicate seeds (seed + r), so their difference at a point is paired and the
noise common to both cancels; a point's outcome is the mean of its replicates' totals over the
window. Runs are kept as `compare` keeps them (`runs/`, resumable, on local processes or a
Dask cluster).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare import Window, total
from sim.config import Scenario
from sim.ensemble import RunSpec, replicate_seeds
from sim.study import _execute, check_scheduler, load_paired, run_label, study_windows
from sim.uncertain import (
    Uncertain,
    applies,
    point_overrides,
    ranges_table,
    uncertain_parameters,
)
from sim.validation import ScenarioError


@dataclass(frozen=True)
class PairedDesign:
    """What a study runs: the scenarios (base first, then the policy if any) under their
    unique names, the uncertain parameters, the window totals are taken over, and the replicate
    seeds every point runs."""

    names: list[str]
    scenarios: list[Scenario]
    uncertain: tuple[Uncertain, ...]
    window: Window
    seeds: list[int]

    @property
    def base(self) -> str:
        return self.names[0]

    @property
    def policy(self) -> str | None:
        return self.names[1] if len(self.names) > 1 else None


def paired_design(base, policy, parameters=None, posterior: Path | None = None,
                  window: str | None = None, replicates: int = 1, seed: int | None = None,
                  weeks: int | None = None, scheduler: str | None = None) -> PairedDesign:
    """Check everything a study needs before anything runs (bad input: `ScenarioError`)."""
    if replicates < 1:
        raise ScenarioError(f"replicates: expected 1 or more, got {replicates}")
    names, scenarios = load_paired([base] + ([policy] if policy is not None else []), weeks)
    uncertain = uncertain_parameters(scenarios, parameters, posterior)
    study_window = study_windows(scenarios[0], window)[-1]
    check_scheduler(scheduler)
    seeds = replicate_seeds(scenarios[0].seed if seed is None else seed, replicates)
    return PairedDesign(names, scenarios, uncertain, study_window, seeds)


def point_specs(design: PairedDesign, samples: np.ndarray) -> dict[str, list[list[RunSpec]]]:
    """specs[scenario][point] = the point's runs, one per seed (a policy's field is set only in
    the scenarios that have that policy)."""
    specs = {}
    for i, (name, scenario) in enumerate(zip(design.names, design.scenarios, strict=True)):
        path, label = str(Path(scenario.file).resolve()), run_label(i, name, scenario)
        specs[name] = []
        for row in samples:
            overrides = tuple((k, v) for k, v in point_overrides(design.uncertain, row).items()
                              if applies(scenario, k))
            specs[name].append([RunSpec(path, seed, scenario.weeks, overrides, label, scenario)
                                for seed in design.seeds])
    return specs


def run_points(design: PairedDesign, samples: np.ndarray, metrics, store, workers: int | None,
               scheduler: str | None, resume: bool, quiet: bool) -> dict[str, pd.DataFrame]:
    """Run every scenario at every point (rows of `samples`); returns per scenario a frame of
    one row per point: each metric's total over the window, the mean over replicates."""
    specs = point_specs(design, samples)
    unique = list(dict.fromkeys(s for points in specs.values() for runs in points for s in runs))
    _execute(unique, store, workers, scheduler, resume, quiet)

    def point_totals(runs: list[RunSpec]) -> np.ndarray:
        frames = [design.window.select(store.load(spec).timeseries) for spec in runs]
        return np.mean([[total(frame, m) for m in metrics] for frame in frames], axis=0)

    return {name: pd.DataFrame([point_totals(runs) for runs in points], columns=list(metrics))
            for name, points in specs.items()}


def outcomes(design: PairedDesign, totals: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Per point: `<base>.<metric>`, and with a policy `<policy>.<metric>` and
    `effect.<metric>` (the policy's total minus the base's, paired: negative is less of it)."""
    out = {}
    for metric in totals[design.base].columns:
        out[f"{design.base}.{metric}"] = totals[design.base][metric].to_numpy()
        if design.policy:
            out[f"{design.policy}.{metric}"] = totals[design.policy][metric].to_numpy()
            out[f"effect.{metric}"] = out[f"{design.policy}.{metric}"] - out[
                f"{design.base}.{metric}"]
    return out


def samples_table(design: PairedDesign, samples: np.ndarray, results: dict[str, np.ndarray]
                  ) -> pd.DataFrame:
    """samples.csv: each point's parameter values (as run) and outcomes."""
    values = pd.DataFrame([point_overrides(design.uncertain, row) for row in samples])
    return pd.concat([values, pd.DataFrame(results)], axis=1)


def write_design(folder: Path, design: PairedDesign, points: pd.DataFrame) -> None:
    """What a study ran and how to run it again: samples.csv (`points`), parameters.csv (the
    ranges and their sources), command.txt."""
    points.to_csv(folder / "samples.csv", index=False)
    ranges_table(design.uncertain).to_csv(folder / "parameters.csv", index=False)
    (folder / "command.txt").write_text(shlex.join(["python", *sys.argv]) + "\n")
