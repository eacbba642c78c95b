"""Agent-steps per second of the users and shipments rules: the Numba kernels, their NumPy twins
(the plain NumPy-vectorised versions, `sim.kernels.*_np`), the idiomatic Mesa model, and a
memory-only pass over the users' arrays."""

from __future__ import annotations

import numba
import numpy as np

from benchmarks import mesa_reference, workloads
from benchmarks.timing import Timed, side_by_side
from sim.kernels import rng
from sim.kernels.shipments import inspect, inspect_np
from sim.kernels.users import step_users, step_users_np

KERNELS = {"numba": (step_users, inspect), "numpy": (step_users_np, inspect_np)}


@numba.njit(cache=True, parallel=True)
def memory_pass(state, tolerance_mg, flag, scale):
    """Read and write the same bytes as `step_users` (state and tolerance in and out; agents
    are stored by region, so the kernel reads no per-agent region) with no logic. flag = 0 and
    scale = 1 leave the arrays unchanged but are run-time values, so the compiler cannot skip
    the pass."""
    for i in numba.prange(state.size):
        state[i] = state[i] | flag
        tolerance_mg[i] = tolerance_mg[i] * scale


def users_timed(kind: str, n: int, weeks: int, threads: int | None = None) -> Timed:
    """The users' week ("numba", "numpy" or "memory") on n agents for `weeks`, as a timed run
    on `threads` threads (None: leave the setting) and its preparation (fresh arrays)."""
    rules, base = workloads.user_workload(), workloads.users(n)

    def run(arrays):
        if threads is not None:
            numba.set_num_threads(threads)
        for week in range(weeks):
            if kind == "memory":
                memory_pass(arrays[0], arrays[1], np.uint8(0), np.float32(1.0))
            else:
                KERNELS[kind][0](*arrays, *rules.kernel_args(week))

    run(workloads.users(1000))   # compile (or load from the cache) untimed
    return run, lambda: tuple(a.copy() for a in base)


def users_rates(runs: dict[str, tuple], n: int, weeks: int, repeats: int) -> dict[str, float]:
    """Agent-steps/s of named `users_timed` argument tuples (kind, threads), side by side."""
    seconds = side_by_side({name: users_timed(kind, n, weeks, threads)
                            for name, (kind, threads) in runs.items()}, repeats)
    return {name: n * weeks / s for name, s in seconds.items()}


def users_result(n: int, weeks: int, threads: int) -> tuple:
    """The users kernel's counts and arrays after `weeks` on `threads` threads."""
    numba.set_num_threads(threads)
    rules, arrays = workloads.user_workload(), workloads.users(n)
    counts = [step_users(*arrays, *rules.kernel_args(week)) for week in range(weeks)]
    return (*counts, *arrays)


def shipments_timed(kind: str, n: int, weeks: int) -> Timed:
    """Customs inspection ("numba" or "numpy") of n shipments for `weeks`, as a timed run."""
    r, loads = workloads.routes(), workloads.shipments(n)
    kernel = KERNELS[kind][1]

    def run(_):
        for week in range(weeks):
            kernel(*loads, r.post_ptr, r.posts, r.controls, r.seize_prob,
                   rng.stream_key(7, rng.LOAD_INSPECT, week))

    run(None)
    return run, lambda: None


def reference_timed(reference: str, n: int, weeks: int) -> tuple[dict[str, Timed], int]:
    """The users' and shipments' rules as the reference runs them, as timed runs, and the
    weeks each run covers: "numpy" (the NumPy twins, `weeks`) or "mesa" (the Mesa model, one
    step)."""
    if reference == "numpy":
        return {"users": users_timed("numpy", n, weeks),
                "shipments": shipments_timed("numpy", n, weeks)}, weeks
    people = mesa_reference.UsersModel(*workloads.users(n), workloads.user_workload())
    loads = mesa_reference.ShipmentsModel(workloads.shipments(n)[0], workloads.routes())
    return {"users": (lambda _: people.step(), lambda: None),
            "shipments": (lambda _: loads.step(), lambda: None)}, 1


def against(reference: str, n: int, weeks: int, repeats: int) -> tuple[dict, dict]:
    """Agent-steps/s of the users' and shipments' kernels (`weeks` per repetition, on the
    current threads) and of the same rules in `reference_timed`, side by side: two dicts keyed
    "users" and "shipments"."""
    slow, slow_weeks = reference_timed(reference, n, weeks)
    seconds = side_by_side({"users": users_timed("numba", n, weeks),
                            "shipments": shipments_timed("numba", n, weeks),
                            **{f"slow_{kind}": run for kind, run in slow.items()}}, repeats)
    return ({kind: n * weeks / seconds[kind] for kind in slow},
            {kind: n * slow_weeks / seconds[f"slow_{kind}"] for kind in slow})


def combined(rates: dict[str, float]) -> float:
    """Agent-steps/s of one users' week plus one shipments' week over the same number of agents
    (the harmonic mean of the two rates)."""
    return 2.0 / (1.0 / rates["users"] + 1.0 / rates["shipments"])
