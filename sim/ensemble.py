"""Many runs: replicates of scenarios (and parameter grids), on a local process pool or a Dask
cluster, saved one by one so an interrupted ensemble can be resumed.

`run(scenario, seed)` is the top-level, picklable entry point that notebooks and tools such as
EMA Workbench or SALib can call.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.config import Scenario, load_scenario
from sim.params import TABLE
from sim.validation import ScenarioError, fail


class EnsembleError(RuntimeError):
    """An ensemble that cannot run as asked (bad options, unreachable scheduler)."""


@dataclass
class RunResult:
    """One run's output: the weekly series (real-world units), totals and dated markers."""

    scenario: str
    seed: int
    weeks: int
    overrides: dict
    timeseries: pd.DataFrame
    totals: dict[str, float]
    markers: list[tuple[str, str]] = field(default_factory=list)   # (ISO start date, label)


def run(scenario: Scenario | str | Path, seed: int, weeks: int | None = None,
        overrides: dict | None = None) -> RunResult:
    """Run one scenario (a `Scenario` or a YAML path) with `seed`; returns a `RunResult`."""
    from sim.model import FentanylModel
    from sim.output import policy_markers, totals

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(overrides, seed=seed, weeks=weeks)
    model = FentanylModel(scenario)
    model.run()
    return RunResult(scenario=scenario.name, seed=seed, weeks=scenario.weeks,
                     overrides=dict(overrides or {}),
                     timeseries=model.recorder.get_model_vars_dataframe(),
                     totals=totals(model),
                     markers=[(d.isoformat(), text) for d, text in policy_markers(model)])


@dataclass(frozen=True)
class RunSpec:
    """One run of an ensemble: which scenario file, seed, horizon and parameter overrides, and
    the file it is saved under."""

    path: str
    seed: int
    weeks: int
    overrides: tuple = ()
    label: str = ""

    @property
    def filename(self) -> str:
        settings = "".join(f"__{k}={v!r}" for k, v in self.overrides)
        return f"{self.label}{settings}__seed{self.seed}.pkl"


def run_spec(spec: RunSpec) -> RunResult:
    """Picklable worker entry: run one `RunSpec`."""
    return run(spec.path, spec.seed, spec.weeks, dict(spec.overrides))


class RunStore:
    """Finished runs, one file each, written atomically (temp file then rename)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, spec: RunSpec) -> Path:
        return self.folder / spec.filename

    def has(self, spec: RunSpec) -> bool:
        return self.path(spec).exists()

    def save(self, spec: RunSpec, result: RunResult) -> None:
        temp = self.path(spec).with_suffix(f".tmp-{os.getpid()}")
        pd.to_pickle(result, temp)
        os.replace(temp, self.path(spec))

    def load(self, spec: RunSpec) -> RunResult:
        return pd.read_pickle(self.path(spec))


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def execute(specs: list[RunSpec], store: RunStore, workers: int | None = None,
            scheduler: str | None = None, progress: Callable[[int], None] | None = None,
            resume: bool = False) -> None:
    """Run every spec not already stored (with `resume`), saving each as it finishes.
    Results do not depend on the backend or the number of workers: each run is a pure
    function of its spec. A KeyboardInterrupt stops cleanly; finished runs are kept."""
    todo = [s for s in specs if not (resume and store.has(s))]
    if progress is not None and len(todo) < len(specs):
        progress(len(specs) - len(todo))
    for spec, result in _results(todo, workers or default_workers(), scheduler):
        store.save(spec, result)
        if progress is not None:
            progress(1)


def _results(specs: list[RunSpec], workers: int, scheduler: str | None
             ) -> Iterator[tuple[RunSpec, RunResult]]:
    if not specs:
        return
    if scheduler:
        yield from _dask_results(specs, scheduler)
    elif workers == 1:
        for spec in specs:
            yield spec, run_spec(spec)
    else:
        context = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(specs)), mp_context=context,
                                      initializer=_one_thread_per_process)
        try:
            futures = {pool.submit(run_spec, spec): spec for spec in specs}
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _one_thread_per_process() -> None:
    """Parallel processes each run their kernels on one thread: the cores are already shared
    out (results do not depend on the thread count)."""
    import numba

    numba.set_num_threads(1)


def connect(address: str):
    """A Dask distributed Client for `address`, or an EnsembleError saying why not."""
    try:
        from distributed import Client
    except ImportError:
        raise EnsembleError("--scheduler needs Dask distributed: pip install '.[distributed]'"
                            ) from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise EnsembleError(f"cannot reach the Dask scheduler at {address}: {err}") from None


def _dask_results(specs: list[RunSpec], address: str) -> Iterator[tuple[RunSpec, RunResult]]:
    from distributed import as_completed

    client = connect(address)
    try:
        futures = {client.submit(run_spec, spec, pure=False): spec for spec in specs}
        for future in as_completed(list(futures)):
            yield futures[future], future.result()
    finally:
        client.close()


def replicate_seeds(first_seed: int, replicates: int) -> list[int]:
    """Replicate r uses seed first_seed + r in every scenario (common random numbers)."""
    return [first_seed + r for r in range(replicates)]


def parse_settings(items: list[str]) -> dict[str, list[float]]:
    """`--set group.key=v1,v2` options -> {path: [values]}, checked against the parameter
    table (unknown keys get a "did you mean")."""
    from sim.validation import Source, check_number, suggest

    grid: dict[str, list[float]] = {}
    source = Source(Path("--set"))
    valid = [f"{g}.{k}" for g, params in TABLE.items() for k in params]
    for item in items:
        path, sep, values = item.partition("=")
        if not sep or not values:
            raise ScenarioError(f"--set: {item}: expected PARAMETER=VALUE[,VALUE...]")
        if path not in valid:
            raise ScenarioError(f"--set: {path}: unknown parameter. {suggest(path, valid)}")
        if path in grid:
            raise ScenarioError(f"--set: {path}: given twice; list all its values in one --set")
        group, key = path.split(".")
        p = TABLE[group][key]
        parsed = []
        for text in values.split(","):
            try:
                number = float(text)
            except ValueError:
                fail(source, (path,), f"expected a number, got '{text}'")
            parsed.append(check_number(number, type(p.value), source, (path,), p.low, p.high))
        if len(set(parsed)) < len(parsed):
            raise ScenarioError(f"--set: {path}: a value is listed twice")
        grid[path] = parsed
    return grid
