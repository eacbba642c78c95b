"""How a run's cost grows with users, makers, shipments and weeks: the baseline at three sizes of
each (the others at their defaults), in this process, seconds per simulated week with the model
already built (the Numba cache warm)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.timing import median_seconds
from sim.config import load_scenario
from sim.model import FentanylModel

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
SIZE_WEEKS = 156
# (what grows, parameter, values); shipments grow as the load size shrinks (loads = kg / size)
SWEEPS = (("users", "users.agents", (100_000, 300_000, 1_000_000)),
          ("makers", "makers.firms", (1_500, 6_000, 24_000)),
          ("shipments", "cartels.load_size_kg", (1.0, 0.1, 0.01)))
WEEKS = (104, 390, 782)


def seconds_per_week(overrides: dict, weeks: int, repeats: int) -> tuple[float, float]:
    """(median seconds per week of `weeks` steps, mean shipments inspected per week)."""
    scenario = load_scenario(BASELINE).with_overrides(overrides, weeks=weeks)
    loads = []

    def run(model):
        model.run()
        loads.append(model.shipments_inspected / weeks)

    seconds = median_seconds(run, repeats, lambda: FentanylModel(scenario))
    return seconds / weeks, loads[-1]


def growth(repeats: int) -> list[dict]:
    """One row per measured size: what grows, its size, seconds per week, shipments per week."""
    rows = []
    for what, parameter, values in SWEEPS:
        for value in values:
            s, loads = seconds_per_week({parameter: value}, SIZE_WEEKS, repeats)
            rows.append({"grows": what, "parameter": parameter, "value": value,
                         "weeks": SIZE_WEEKS, "s_per_week": s, "shipments_per_week": loads})
    for weeks in WEEKS:
        s, loads = seconds_per_week({}, weeks, repeats)
        rows.append({"grows": "weeks", "parameter": "weeks", "value": weeks, "weeks": weeks,
                     "s_per_week": s, "shipments_per_week": loads})
    return rows


def table(rows: list[dict]) -> str:
    lines = [f"{'grows':<10} {'parameter':<22} {'value':>12} {'weeks':>6} {'ms/week':>9} "
             f"{'run_s':>8} {'shipments/wk':>13}"]
    for row in rows:
        lines.append(f"{row['grows']:<10} {row['parameter']:<22} {row['value']:>12,} "
                     f"{row['weeks']:>6} {1e3 * row['s_per_week']:>9.2f} "
                     f"{row['s_per_week'] * row['weeks']:>8.1f} {row['shipments_per_week']:>13,.0f}")
    return "\n".join(lines)
