"""Many runs: replicates of scenarios (and parameter grids), on a local process pool or a Dask
cluster, saved one by one so an interrupted ensemble can be resumed.

`run(scenario, seed)` is the top-level, picklable entry point that notebooks and tools such as
EMA Workbench or SALib can call.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import hashlib
import io
import json
import multiprocessing
import os
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import OVERRIDES, Scenario, as_scenario, check_override
from sim.folders import stop_at
from sim.validation import ScenarioError, Source, check_horizon, load_yaml, read_file

MAX_SEED = 2**63 - 1
MAX_SETTINGS_CHARS = 120   # of a run file's name (most file systems hold 255 bytes)


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


def run_model(scenario: Scenario | str | Path, seed: int | None = None, weeks: int | None = None,
              overrides: dict | None = None, progress=None):
    """Build and run the model of a scenario (a `Scenario`, a shipped scenario's name or a
    file) with its overrides, seed and horizon checked as the command line checks them;
    returns the model and its run time (s)."""
    from sim.model import FentanylModel

    scenario = as_scenario(scenario).with_overrides(overrides, seed=seed, weeks=weeks)
    check_horizon(scenario, weeks, scenario.file)
    started = time.perf_counter()
    model = FentanylModel(scenario)
    model.run(progress=progress)
    return model, time.perf_counter() - started


def run(scenario: Scenario | str | Path, seed: int, weeks: int | None = None,
        overrides: dict | None = None) -> RunResult:
    """Run one scenario (a `Scenario`, a name or a YAML path) with `seed`; returns a
    `RunResult` (dates as ISO text: the form runs are kept in)."""
    from sim.output import policy_markers, totals

    model, _ = run_model(scenario, seed, weeks, overrides)
    frame = model.recorder.get_model_vars_dataframe()
    return RunResult(scenario=model.scenario.name, seed=seed, weeks=model.scenario.weeks,
                     overrides=dict(overrides or {}), timeseries=frame,
                     totals=totals(model, frame),
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
    scenario: Scenario | None = field(default=None, compare=False, repr=False)  # else `path`

    @property
    def stem(self) -> str:
        """The file name's stem: label, overrides and seed; overrides too long for a file name
        (a sensitivity study sets ten parameters) by their SHA-256 instead (the manifest
        records them in full)."""
        settings = "".join(f"__{k}={v!r}" for k, v in self.overrides)
        if len(settings) > MAX_SETTINGS_CHARS:
            settings = "__set" + hashlib.sha256(settings.encode()).hexdigest()[:24]
        return f"{self.label}{settings}__seed{self.seed}"

    @property
    def filename(self) -> str:
        return f"{self.stem}.npz"

    def record(self) -> dict:
        """The spec as JSON data (what the manifest records for each run)."""
        return {"path": self.path, "seed": self.seed, "weeks": self.weeks,
                "overrides": [list(pair) for pair in self.overrides], "label": self.label}


def run_spec(spec: RunSpec) -> RunResult:
    """Picklable worker entry: run one `RunSpec`."""
    return run(spec.scenario or spec.path, spec.seed, spec.weeks, dict(spec.overrides))


def run_kept(spec: RunSpec) -> bytes:
    """Picklable worker entry: run one `RunSpec` and encode it as a kept run (`encode`), so
    workers, not the process that keeps the runs, do the encoding."""
    return encode(run_spec(spec))


class RunFileError(EnsembleError):
    """A kept run that cannot be used: damaged, replaced, or not the run it is named for."""


RUN_FORMAT = 2             # .npz: the columns as one array per type, the rest as JSON text
JSON_RUN_FORMAT = 1        # .json: runs kept before issue 20, still read
MAX_RUN_BYTES = 2**30
DTYPES = ("int64", "float64", "bool", "object")   # object: text (the dates)
STORED = {"int64": "int64", "float64": "float64", "bool": "bool", "object": "str"}
META = "meta"              # the .npz member holding the JSON text


def encode(result: RunResult) -> bytes:
    """A run as kept: a compressed NumPy .npz archive with, per column type, one array of the
    columns of that type (a row per column, in column order; text as Unicode), and `meta`, the
    JSON text of everything else (format, scenario, seed, weeks, overrides, totals, markers,
    column names and types). Nothing in it needs unpickling."""
    frame = result.timeseries
    columns = [(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]
    if any(dtype not in DTYPES for _, dtype in columns):
        raise TypeError(f"cannot keep columns of types {sorted({t for _, t in columns})}")
    by_type: dict[str, list] = {}
    for (name, dtype), values in zip(columns, (frame[c].to_numpy() for c in frame), strict=True):
        if dtype == "object" and not all(isinstance(v, str) for v in values):
            raise TypeError(f"column {name!r}: only text can be kept in an object column")
        by_type.setdefault(dtype, []).append(values.astype(STORED[dtype]))
    meta = json.dumps({
        "format": RUN_FORMAT, "scenario": result.scenario, "seed": result.seed,
        "weeks": result.weeks, "overrides": result.overrides, "totals": result.totals,
        "markers": [list(m) for m in result.markers], "columns": [list(c) for c in columns]})
    buffer = io.BytesIO()
    arrays = {META: np.frombuffer(meta.encode(), np.uint8),
              **{t: np.array(rows).reshape(len(rows), len(frame)) for t, rows in by_type.items()}}
    # what np.savez_compressed writes, at zlib's fastest level: its default (level 6) took 6 ms
    # more a baseline run for a file 2% smaller (246 kB against 251)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return buffer.getvalue()


def decode(data: bytes) -> RunResult:
    """A kept run from its bytes: the .npz format (`encode`), or the JSON of format 1. Arrays
    are read without pickle (`allow_pickle=False`); ValueError, TypeError or KeyError when the
    bytes are not a kept run."""
    if not data.startswith(b"PK"):
        return _decode_json(data)
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        if sum(info.file_size for info in archive.zip.infolist()) > MAX_RUN_BYTES:
            raise ValueError("larger than a kept run can be")
        doc = json.loads(archive[META].tobytes().decode())
        if doc.get("format") != RUN_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {RUN_FORMAT}")
        types = {dtype for _, dtype in doc["columns"]}
        if not types <= set(DTYPES):
            raise ValueError(f"column types {sorted(types - set(DTYPES))}")
        arrays = {t: archive[t] for t in types}
    rows = dict.fromkeys(types, 0)
    columns = {}
    for name, dtype in doc["columns"]:
        block = arrays[dtype]
        if block.ndim != 2 or block.shape[1] != doc["weeks"] or rows[dtype] >= len(block):
            raise ValueError(f"column {name!r}: {dtype} array of shape {block.shape}")
        columns[name] = block[rows[dtype]].astype(dtype)   # arrays: no Series per column
        rows[dtype] += 1
    return _result(doc, pd.DataFrame(columns))


def _decode_json(data: bytes) -> RunResult:
    """A run kept as JSON (format 1: before issue 20)."""
    doc = json.loads(data)
    if doc.get("format") != JSON_RUN_FORMAT:
        raise ValueError(f"format {doc.get('format')!r}, expected {JSON_RUN_FORMAT}")
    columns = {}
    for name, dtype, values in doc["columns"]:
        if dtype not in DTYPES or len(values) != doc["weeks"]:
            raise ValueError(f"column {name!r}: {dtype}, {len(values)} values")
        columns[name] = pd.Series(values, dtype=dtype)
    return _result(doc, pd.DataFrame(columns))


def _result(doc: dict, frame: pd.DataFrame) -> RunResult:
    return RunResult(scenario=doc["scenario"], seed=doc["seed"], weeks=doc["weeks"],
                     overrides=dict(doc["overrides"]), timeseries=frame,
                     totals={k: float(v) for k, v in doc["totals"].items()},
                     markers=[(str(day), str(text)) for day, text in doc["markers"]])


class RunStore:
    """Finished runs, one file each (`encode`: data only, nothing in a results folder is ever
    unpickled or executed), written atomically; `manifest.jsonl` records each file's SHA-256
    and the spec it belongs to. A file that is damaged, truncated, replaced or another run's
    is refused with its name (`RunFileError`), never used. Runs kept as JSON before issue 20
    (`<stem>.json`) are still found and read."""

    MANIFEST = "manifest.jsonl"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.manifest = self.folder / self.MANIFEST
        self.entries = self._read_manifest()

    def _read_manifest(self) -> dict[str, dict]:
        """file name -> {"sha256", "spec"}; the last entry for a file wins."""
        if not self.manifest.exists():
            return {}
        entries = {}
        text = read_file(self.manifest, "manifest of kept runs", MAX_RUN_BYTES).decode(
            "utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                entry = json.loads(line)
                entries[entry["file"]] = {"sha256": entry["sha256"], "spec": entry["spec"]}
            except (ValueError, TypeError, KeyError):
                raise RunFileError(f"{self.manifest}:{number}: damaged manifest line; use "
                                   "--force to start again") from None
        return entries

    def _kept_as(self, spec: RunSpec) -> str | None:
        """The file name the manifest records a finished run of `spec` under (a file recorded
        for another spec, e.g. the same scenario moved to another folder, does not count)."""
        for name in (spec.filename, f"{spec.stem}.json"):
            entry = self.entries.get(name)
            if entry is not None and entry["spec"] == spec.record():
                return name
        return None

    def path(self, spec: RunSpec) -> Path:
        return self.folder / (self._kept_as(spec) or spec.filename)

    def has(self, spec: RunSpec) -> bool:
        return self._kept_as(spec) is not None

    def save(self, spec: RunSpec, data: bytes) -> None:
        """Keep the run `spec` encoded as `data` (`encode`)."""
        path = self.folder / spec.filename
        temp = path.with_suffix(f".tmp-{os.getpid()}")
        temp.write_bytes(data)
        os.replace(temp, path)
        entry = {"file": spec.filename, "sha256": hashlib.sha256(data).hexdigest(),
                 "spec": spec.record()}
        with open(self.manifest, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        self.entries[spec.filename] = {"sha256": entry["sha256"], "spec": entry["spec"]}

    def load(self, spec: RunSpec) -> RunResult:
        """The kept run of `spec`, after checking it against the manifest."""
        name = self._kept_as(spec)
        path = self.folder / (name or spec.filename)
        if name is None:
            raise RunFileError(f"{path}: not recorded in {self.manifest} as this run")
        try:
            data = read_file(path, "kept run", MAX_RUN_BYTES)
        except ScenarioError as err:
            raise RunFileError(str(err)) from None
        if hashlib.sha256(data).hexdigest() != self.entries[name]["sha256"]:
            raise RunFileError(f"{path}: damaged or replaced (its SHA-256 differs from the one "
                               f"recorded in {self.manifest}); it was not used. Delete it and "
                               "its manifest line, or use --force, to run it again")
        try:
            return decode(data)
        except (ValueError, TypeError, KeyError, OSError) as err:
            raise RunFileError(f"{path}: not a kept run ({err}); it was not used") from None


class MemoryStore:
    """Finished runs held in memory, for a study asked for no folder (nothing is written)."""

    def __init__(self):
        self.runs: dict[RunSpec, bytes] = {}

    def has(self, spec: RunSpec) -> bool:
        return spec in self.runs

    def save(self, spec: RunSpec, data: bytes) -> None:
        self.runs[spec] = data

    def load(self, spec: RunSpec) -> RunResult:
        return decode(self.runs[spec])


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def execute(specs: list[RunSpec], store: RunStore, workers: int | None = None,
            scheduler: str | None = None, progress: Callable[[int], None] | None = None,
            resume: bool = False) -> None:
    """Run every spec not already stored (with `resume`), saving each as it finishes.
    Results do not depend on the backend or the number of workers: each run is a pure
    function of its spec. A KeyboardInterrupt stops cleanly; finished runs are kept."""
    todo = [s for s in specs if not (resume and store.has(s))]
    for spec in specs:
        if resume and store.has(spec):
            store.load(spec)       # every kept run is checked before anything runs
    if progress is not None and len(todo) < len(specs):
        progress(len(specs) - len(todo))
    for saved, (spec, data) in enumerate(_results(todo, workers or default_workers(),
                                                  scheduler), start=1):
        store.save(spec, data)
        stop_at("runs", saved)
        if progress is not None:
            progress(1)


def _results(specs: list[RunSpec], workers: int, scheduler: str | None
             ) -> Iterator[tuple[RunSpec, bytes]]:
    """Each spec with its kept run's bytes (`run_kept`), as runs finish."""
    if not specs:
        return
    if scheduler:
        yield from _dask_results(specs, scheduler)
    elif workers == 1:
        for spec in specs:
            yield spec, run_kept(spec)
    else:
        pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(specs)),
                                      mp_context=worker_context(),
                                      initializer=_worker_setup)
        try:
            # forked workers (all at the first submit) never collect what is alive here
            # (modules, kernels): their collections skip it, and so do not copy the pages they
            # share with this process; left frozen here if it already was (`sim.cli`)
            frozen = gc.get_freeze_count()
            gc.freeze()
            try:
                futures = {pool.submit(run_kept, spec): spec for spec in specs}
            finally:
                if not frozen:
                    gc.unfreeze()
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def fork_is_safe() -> bool:
    """Whether this process may be forked: Linux, no other thread running, and Numba's thread
    pool not started (a forked child could not use it)."""
    import threading

    from numba.np.ufunc import parallel

    return (sys.platform == "linux" and threading.active_count() == 1
            and not getattr(parallel, "_is_initialized", True))


def worker_context():
    """How local workers start. Forked from this process where that is safe (`fork_is_safe`):
    a worker then starts with the model's modules already imported, which spares each worker
    the 1-2 s of importing them again (start-up once per process, not per worker). Else
    spawned: a fresh interpreter per worker."""
    if not fork_is_safe():
        return multiprocessing.get_context("spawn")
    import sim.model  # noqa: F401  (imported once here, inherited by every worker)

    return multiprocessing.get_context("fork")


def _worker_setup() -> None:
    """Each worker runs its kernels on one thread: the cores are already shared out (results do
    not depend on the thread count). A forked worker also drops the SIGTERM handler it
    inherits (`sim.cli` turns SIGTERM into an interruption): like a spawned one, it ends at
    once, and the pool with it."""
    import signal

    import numba

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    numba.set_num_threads(1)


def connect(address: str):
    """A Dask distributed Client for `address`, or an EnsembleError saying why not."""
    try:
        from distributed import Client
    except ImportError:
        raise EnsembleError("--scheduler needs Dask distributed: pip install '.[distributed]'"
                            ) from None
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(address)
    except ValueError as err:
        raise EnsembleError(f"--scheduler: '{address}' is not a scheduler address ({err}); "
                            "expected e.g. tcp://127.0.0.1:8786") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise EnsembleError(f"cannot reach the Dask scheduler at {address}: {err}") from None


def _dask_results(specs: list[RunSpec], address: str) -> Iterator[tuple[RunSpec, bytes]]:
    from distributed import as_completed

    client = connect(address)
    try:
        futures = {client.submit(run_kept, spec, pure=False): spec for spec in specs}
        for future in as_completed(list(futures)):
            yield futures[future], future.result()
    finally:
        client.close()


def replicate_seeds(first_seed: int, replicates: int) -> list[int]:
    """Replicate r uses seed first_seed + r in every scenario (common random numbers)."""
    if first_seed + replicates - 1 > MAX_SEED:
        raise EnsembleError(f"--seed: replicate seeds {first_seed} to {first_seed + replicates - 1}"
                            f" pass the largest seed, {MAX_SEED} (2**63 - 1); use a smaller "
                            "--seed or fewer --replicates")
    return [first_seed + r for r in range(replicates)]


SET = Source(Path("--set"))   # where a command-line override "comes from"


def parse_settings(items: list[str]) -> dict[str, list]:
    """`--set KEY=v1,v2` options -> {key: [values]}: numbers as numbers, other values as YAML
    reads them (true, false, dates, text). The keys and values are checked against a scenario
    by `check_grid`, as a scenario file's are."""
    grid: dict[str, list] = {}
    for item in items:
        path, sep, values = item.partition("=")
        if not sep or not values:
            raise ScenarioError(f"--set: {item}: expected PARAMETER=VALUE[,VALUE...]")
        if path in grid:
            raise ScenarioError(f"--set: {path}: given twice; list all its values in one --set")
        grid[path] = [_value(text) for text in values.split(",")]
    return grid


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return load_yaml(text)


def check_grid(scenario: Scenario, grid: dict, source: Source = OVERRIDES) -> dict[str, list]:
    """Every value of a grid of overrides checked against `scenario` (`with_overrides`: the
    checks and messages of a scenario file); parameters in their table type."""
    checked = {}
    for path, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ScenarioError(f"{source.file}: {path}: expected a list of values, got "
                                f"{values!r}")
        values = list(values)
        if not values:
            raise ScenarioError(f"{source.file}: {path}: expected at least one value")
        for value in values:
            scenario.with_overrides({path: value}, source=source)
        if not path.startswith(("policies.", "network.")):
            values = [check_override(path, value, source) for value in values]
        if len(set(map(repr, values))) < len(values):
            raise ScenarioError(f"{source.file}: {path}: a value is listed twice")
        checked[path] = values
    return checked
