"""`python -m benchmarks [--quick]` (or `make bench`): measure, print the table and write
benchmarks/results/latest.json (quick.json with --quick: fewer repetitions, shortened runs, for
development only). Every figure is the median of the repetitions, measured in this one run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
from pathlib import Path

import numba
import numpy as np

from benchmarks import classroom, growth, kernels, posterior, study_costs, whole_runs
from sim.actors.users import Users
from sim.params import TABLE

RESULTS = Path(__file__).parent / "results"
KERNEL_REPEATS = 3   # kernel comparisons repeat 3x as often as whole runs
WARM_STARTS = 3      # warm starts (2 s each) after each cold start
# key: (comparison, target); the floors and ceilings
TARGETS = {"mesa_ratio_1e5": (">=", 200), "numpy_ratio_1e6": (">=", 5),
           "bandwidth_share_1e7": (">=", 0.15), "parallel_efficiency": (">=", 0.8),
           "scaling_1e7_over_1e5": ("<=", 1.25), "bytes_per_agent": ("<=", 64),
           "full_run_1e7_s": ("<=", 300), "peak_rss_1e7_mb": ("<=", 2048),
           "warm_start_s": ("<=", 2), "classroom_step_ms": ("<=", 200),
           "classroom_play_weeks_per_s": (">=", 5),
           # issue 20; classroom_ms_per_week: a fifth of the figure before it (study_costs)
           "week_overhead_ratio": ("<=", 1.5), "ensemble_efficiency": (">=", 0.85),
           "classroom_ms_per_week": ("<=", study_costs.CLASSROOM_MS_PER_WEEK_BEFORE / 5)}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numba": numba.__version__, "numpy": np.__version__,
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def kernel_figures(repeats: int) -> dict:
    """Kernel throughputs side by side; rates in agent-steps/s. A repetition of a kernel
    comparison takes well under a second, so each is repeated `KERNEL_REPEATS` x `repeats`
    times: one vCPU's slow spells on a shared host then move the medians less."""
    repeats *= KERNEL_REPEATS
    threads = numba.config.NUMBA_NUM_THREADS
    out = {"kernel_repeats": repeats}
    # against idiomatic Mesa at 1e5 agents, one thread
    numba.set_num_threads(1)
    fast, mesa = kernels.against("mesa", 100_000, 20, repeats)
    out["mesa_ratio_1e5"] = kernels.combined(fast) / kernels.combined(mesa)
    for kind in fast:
        out[f"mesa_ratio_{kind}_1e5"] = fast[kind] / mesa[kind]
        out[f"mesa_{kind}_rate_1e5"] = mesa[kind]
        out[f"numba_{kind}_rate_1e5_one_thread"] = fast[kind]
    # against the NumPy-vectorised twins at 1e6 agents, all threads (NumPy uses one)
    numba.set_num_threads(threads)
    fast, slow = kernels.against("numpy", 1_000_000, 5, repeats)
    out["numpy_ratio_1e6"] = kernels.combined(fast) / kernels.combined(slow)
    for kind in fast:
        out[f"numpy_ratio_{kind}_1e6"] = fast[kind] / slow[kind]
    # the hottest kernel (users) at 1e7: memory share, threads, scaling from 1e5
    two = min(2, threads)
    runs = {"users": ("numba", threads), "memory": ("memory", threads), "one": ("numba", 1)}
    if two != threads:
        runs["two"] = ("numba", two)
    at_1e7 = kernels.users_rates(runs, 10_000_000, 2, repeats)
    users_1e7, memory_1e7 = at_1e7["users"], at_1e7["memory"]
    one_thread, two_threads = at_1e7["one"], at_1e7.get("two", users_1e7)
    users_1e5 = kernels.users_rates({"users": ("numba", threads)}, 100_000, 40, repeats)["users"]
    same = all(np.array_equal(a, b) for a, b in zip(
        kernels.users_result(1_000_000, 3, 1), kernels.users_result(1_000_000, 3, two),
        strict=True))
    numba.set_num_threads(threads)
    out.update({"users_rate_1e7": users_1e7, "memory_pass_rate_1e7": memory_1e7,
                "bandwidth_share_1e7": users_1e7 / memory_1e7,
                "users_rate_1e7_one_thread": one_thread, "users_rate_1e7_two_threads": two_threads,
                "parallel_efficiency": two_threads / one_thread / two,
                "parallel_threads": two, "parallel_identical": same,
                "users_rate_1e5": users_1e5, "scaling_1e7_over_1e5": users_1e5 / users_1e7})
    return out


def state_bytes() -> dict:
    p = TABLE["users"]
    users = Users.create(1000, 1000, np.ones(5), 0.5, 1)
    per_slot = sum(a.nbytes for a in (users.state, users.region, users.tolerance_mg)) / 1000
    return {"bytes_per_agent": per_slot,
            "bytes_per_initial_user": per_slot * p["slot_headroom"].value}


def run_figures(repeats: int, quick: bool) -> dict:
    """Whole runs in fresh processes (the Numba cache warmed first). A warm start takes about
    2 s and moves by +-0.3 s from one process to the next on a shared host, so it is timed
    `WARM_STARTS` times after each cold start."""
    weeks = 52 if quick else None
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        whole_runs.baseline_run(temp / "warmup", weeks=1)
        default = [whole_runs.baseline_run(temp / "default", weeks=weeks)[0]
                   for _ in range(repeats)]
        big = [whole_runs.baseline_run(temp / "big", 10_000_000, weeks=4 if quick else None)
               for _ in range(repeats)]
        cold, warm = [], []
        for r in range(repeats):
            cold.append(whole_runs.first_week(temp / f"cache_{r}"))
            warm += [whole_runs.first_week(temp / f"cache_{r}") for _ in range(WARM_STARTS)]
        replicates = 2 * (os.cpu_count() or 1)
        ensemble = [whole_runs.ensemble(temp / "ensemble", replicates, weeks)
                    for _ in range(repeats)]
    median = lambda values: float(np.median(values))  # noqa: E731
    return {"full_run_default_s": median(default),
            "full_run_1e7_s": median([s for s, _ in big]),
            "peak_rss_1e7_mb": median([mb for _, mb in big]),
            "cold_start_s": median(cold), "warm_start_s": median(warm), "warm_starts": len(warm),
            "ensemble_runs_per_min": replicates * 60.0 / median(ensemble),
            "ensemble_replicates": replicates}


def study_figures(quick: bool) -> dict:
    """A 10-parameter Sobol' study at classroom size, 104 weeks, N = 64 (8 with --quick), on all
    cores: measured once (it takes minutes)."""
    n = 8 if quick else 64
    with tempfile.TemporaryDirectory() as temp:
        seconds, runs = whole_runs.sobol_study(Path(temp) / "sobol", n=n)
    return {"sobol_study_s": seconds, "sobol_study_runs": runs, "sobol_study_n": n}


def table(results: dict) -> str:
    lines = [f"{'figure':<34} {'value':>14}  target"]
    for key, value in results.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, str):
            lines.append(f"{key:<34} {value}")
            continue
        shown = f"{value:>14,.3f}" if isinstance(value, float) else f"{value!s:>14}"
        target = ""
        if key in TARGETS and value is None:
            target = "not measured"
        elif key in TARGETS:
            how, limit = TARGETS[key]
            met = value >= limit if how == ">=" else value <= limit
            target = f"{how} {limit}  {'ok' if met else 'MISSED'}"
        lines.append(f"{key:<34} {shown}  {target}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 repetition, runs of 52 weeks "
                        "(4 at 10 million users); writes results/quick.json")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    results = {"quick": args.quick, "repeats": repeats, **kernel_figures(repeats),
               **state_bytes()}
    print(table(results), flush=True)
    results.update(run_figures(repeats, args.quick))
    results.update(study_figures(args.quick))
    results.update(study_costs.figures(repeats, args.quick))
    results.update(classroom.figures())
    results.update(classroom.teams_figures())
    results.update(posterior.figures(args.quick))
    results["machine"] = machine()
    print(table(results), flush=True)
    results["growth"] = growth.growth(repeats)
    print(growth.table(results["growth"]))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("quick.json" if args.quick else "latest.json")
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
