"""Writing a run's results: timeseries.csv, summary.json, the resolved scenario and figures.

Files are written into a temporary folder beside the target and moved into place at the end
(`sim.folders.atomic_folder`), so an interrupted run leaves no half-written results, and an
existing folder is replaced only when the caller asked for it and this program made it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import yaml

import sim
from sim.actors import customs
from sim.compare import total
from sim.folders import atomic_folder  # noqa: F401  (sim.classroom.lessons imports it from here)
from sim.metrics import units_for
from sim.plots import plot_run


def new_run_folder(root: Path, scenario_name: str, now: dt.datetime | None = None) -> Path:
    """`root/<scenario name>/<timestamp>/`, made unique if two runs start in the same second."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = root / scenario_name / stamp
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{stamp}-{n}")
    return path


def totals(model, frame: pd.DataFrame) -> dict[str, float]:
    """Per-metric totals over the run (`frame`: the recorder's): sums of flows, means of levels
    and shares."""
    return {name: total(frame, name) for name in units_for(model)}


def policy_markers(model) -> list[tuple[dt.date, str]]:
    """(start date, label) of every policy that starts within the run."""
    weeks = model.recorder.rows
    return sorted((p.start, p.describe()) for p in model.policies
            if p.start_week < weeks and p.start >= model.scenario.start)


def total_unit(unit: str, how: str) -> str:
    """The unit of a run's total: a summed weekly flow in people/week is a number of people (the
    per-week part goes); a level's total is its mean over the weeks."""
    return unit.replace("/week", "") if how == "sum" else f"{unit} (mean over weeks)"


def timeseries(frame: pd.DataFrame) -> pd.DataFrame:
    """The recorder's weekly frame indexed by date (datetime64, the week's Monday)."""
    return frame.assign(date=pd.to_datetime(frame["date"])).set_index("date")


def summary(model, run_time_s: float, frame: pd.DataFrame) -> dict:
    """What summary.json holds: the scenario, seed, horizon, totals with their units, policies
    and dated events (`frame`: the recorder's)."""
    scenario = model.scenario
    units = units_for(model)
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": str(scenario.file),
        "scenario_sha256": scenario.sha256,
        "seed": scenario.seed,
        "weeks": int(model.recorder.rows),
        "start": scenario.start.isoformat(),
        "end": (scenario.start + dt.timedelta(weeks=model.recorder.rows)).isoformat(),
        "package_version": sim.__version__,
        "run_time_s": round(run_time_s, 3),
        "totals": totals(model, frame),
        "units": {name: unit for name, (unit, _) in units.items()},
        "how_totalled": {name: how for name, (_, how) in units.items()},
        "total_units": {name: total_unit(unit, how) for name, (unit, how) in units.items()},
        "policies": [{"type": p.type_name, "label": p.describe(), "start": p.start.isoformat(),
                      "end": p.end.isoformat() if p.end else None} for p in model.policies],
        "events": [{"week": e.week, "date": (scenario.start + dt.timedelta(weeks=e.week))
                    .isoformat(), "event": str(e)} for e in model.events],
    }


def write_results(model, folder: Path, run_time_s: float, plots: bool = True) -> dict:
    """Everything a run leaves behind, into `folder` (which exists and is empty); returns the
    summary it wrote."""
    scenario = model.scenario
    frame = model.recorder.get_model_vars_dataframe()
    frame.to_csv(folder / "timeseries.csv", index=False, float_format="%.6g")
    written = summary(model, run_time_s, frame)
    (folder / "summary.json").write_text(json.dumps(written, indent=2) + "\n")
    (folder / "scenario_resolved.yaml").write_text(
        yaml.safe_dump(json.loads(json.dumps(scenario.resolved, default=str)), sort_keys=False))
    if plots:
        agencies = {a.name: [model.posts.names[p] for p in a.posts] for a in customs.agencies(model)}
        plot_run(frame, policy_markers(model), f"{scenario.name} (seed {scenario.seed})", folder,
                 agencies)
    return written
