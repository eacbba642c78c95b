"""What a study costs (issue 20): the week around the users kernel, the classroom-size week, and
how close an ensemble comes to the runs a minute the model time alone allows.

- `week_overhead_ratio`: the default baseline in this process (all threads), whole-model time
  per week over the users kernel's (`step_users`) time per week, the same run.
- `classroom_ms_per_week`: the baseline at classroom size (`sim.classroom.model.CLASSROOM_SIZE`:
  20,000 person-agents, 500 firms), whole model, ms per week, in this process (all threads).
- `ensemble_efficiency`: runs a minute of `run.py compare scenarios/baseline.yaml --replicates
  48` on all cores, over cores x 60 / one run's model time, the same benchmark run. The model
  time is `model.run()` of the baseline in this process on one thread, as each ensemble worker
  runs it (`sim.ensemble` gives each worker one thread): what the ensemble adds (process
  start-up, building the models, moving and writing the runs, the report) is what the figure
  charges.

`python -m benchmarks.study_costs [--quick]` prints these figures alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numba

import sim.actors.users as users_module
from benchmarks import whole_runs
from sim.classroom.model import CLASSROOM_SIZE
from sim.config import load_scenario
from sim.model import FentanylModel

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
ENSEMBLE_REPLICATES = 48
# classroom_ms_per_week of the model before issue 20 (commit 2f406b6, measured by this module
# beside the branch, docs/performance.md); the target is a fifth of it
CLASSROOM_MS_PER_WEEK_BEFORE = 2.10


@contextlib.contextmanager
def kernel_clock():
    """Within the block, every call of the users kernel (`sim.actors.users.step_users`, looked
    up at call time) adds its wall seconds to the yielded list's one entry."""
    kernel, seconds = users_module.step_users, [0.0]

    def timed(*args):
        started = time.perf_counter()
        out = kernel(*args)
        seconds[0] += time.perf_counter() - started
        return out

    users_module.step_users = timed
    try:
        yield seconds
    finally:
        users_module.step_users = kernel


def timed_run(overrides: dict, weeks: int | None, threads: int | None = None
              ) -> tuple[float, float, int]:
    """The baseline with `overrides`, built, then run for its weeks (`weeks`: default the
    scenario's) on `threads` threads (None: as set); returns (seconds of `model.run()`, seconds
    in the users kernel, weeks)."""
    scenario = load_scenario(BASELINE).with_overrides(overrides, weeks=weeks)
    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        model = FentanylModel(scenario)
        with kernel_clock() as kernel_s:
            started = time.perf_counter()
            model.run()
            seconds = time.perf_counter() - started
    finally:
        numba.set_num_threads(before)
    if kernel_s[0] <= 0:
        raise RuntimeError("the users kernel was not timed: sim.actors.users.step_users moved?")
    return seconds, kernel_s[0], scenario.weeks


def figures(repeats: int, quick: bool) -> dict:
    """The three figures (medians of `repeats`) and what they are computed from."""
    weeks = 52 if quick else None
    timed_run({}, 2)    # kernels loaded
    whole = [timed_run({}, weeks) for _ in range(repeats)]
    classroom = [timed_run(CLASSROOM_SIZE, weeks) for _ in range(repeats)]
    one_thread = [timed_run({}, weeks, threads=1)[0] for _ in range(repeats)]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as temp:
        ensemble = [whole_runs.ensemble(Path(temp) / "ensemble", ENSEMBLE_REPLICATES, weeks)
                    for _ in range(repeats)]
    median = statistics.median
    n_weeks = whole[0][2]
    model_s, ensemble_s = median(one_thread), median(ensemble)
    runs_per_min = ENSEMBLE_REPLICATES * 60.0 / ensemble_s
    return {
        "week_overhead_ratio": median(s / k for s, k, _ in whole),
        "model_ms_per_week": 1e3 * median(s for s, _, _ in whole) / n_weeks,
        "users_kernel_ms_per_week": 1e3 * median(k for _, k, _ in whole) / n_weeks,
        "classroom_ms_per_week": 1e3 * median(s for s, _, _ in classroom) / classroom[0][2],
        "classroom_users_kernel_ms_per_week": 1e3 * median(k for _, k, _ in classroom)
        / classroom[0][2],
        "model_run_s_one_thread": model_s,
        "ensemble_48_s": ensemble_s,
        "ensemble_48_runs_per_min": runs_per_min,
        "ensemble_efficiency": runs_per_min / (cores * 60.0 / model_s),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.study_costs", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 repetition, runs of 52 weeks")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for key, value in figures(1 if args.quick else args.repeats, args.quick).items():
        print(f"{key:<36} {value:>12.4f}")
