"""Kept runs (issue 20): the .npz format gives back the very table it was given, runs kept as
JSON before still load and resume, nothing in a file is unpickled, and workers are forked only
where that is safe."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from sim import ensemble
from sim.ensemble import RunFileError, RunSpec, RunStore, decode, encode
from sim.folders import STOP_AT
from tests.conftest import ROOT, TINY


@pytest.fixture(scope="module")
def kept():
    """A tiny run of two years, as a spec and its result."""
    spec = RunSpec(str(TINY), 3, 104, (("users.naloxone_coverage", 0.5),), "tiny")
    return spec, ensemble.run_spec(spec)


def test_a_kept_run_gives_back_the_same_table_totals_and_markers(kept):
    _, result = kept
    data = encode(result)
    back = decode(data)
    pd.testing.assert_frame_equal(back.timeseries, result.timeseries, check_exact=True)
    assert back.timeseries["date"].dtype == object and back.totals == result.totals
    assert (back.scenario, back.seed, back.weeks, back.overrides, back.markers) == (
        result.scenario, result.seed, result.weeks, result.overrides, result.markers)
    assert len(data) < len(_json_run(result))   # more compact than the JSON it replaces


def _json_run(result) -> bytes:
    """A run as format 1 kept it (JSON), before issue 20."""
    frame = result.timeseries
    return json.dumps({
        "format": 1, "scenario": result.scenario, "seed": result.seed, "weeks": result.weeks,
        "overrides": result.overrides, "totals": result.totals,
        "markers": [list(m) for m in result.markers],
        "columns": [[str(c), str(t), frame[c].tolist()] for c, t in frame.dtypes.items()],
    }).encode()


def test_runs_kept_as_json_before_still_load_and_are_not_rerun(kept, tmp_path, monkeypatch):
    spec, result = kept
    data = _json_run(result)
    (tmp_path / f"{spec.stem}.json").write_bytes(data)
    (tmp_path / RunStore.MANIFEST).write_text(json.dumps(
        {"file": f"{spec.stem}.json", "sha256": hashlib.sha256(data).hexdigest(),
         "spec": spec.record()}) + "\n")
    store = RunStore(tmp_path)
    assert store.has(spec)
    pd.testing.assert_frame_equal(store.load(spec).timeseries, result.timeseries,
                                  check_exact=True)
    monkeypatch.setattr(ensemble, "run_kept", lambda s: pytest.fail("a kept run was rerun"))
    ensemble.execute([spec], store, workers=1, resume=True)
    (tmp_path / f"{spec.stem}.json").write_bytes(data.replace(b'"seed": 3', b'"seed": 4'))
    with pytest.raises(RunFileError, match="damaged or replaced"):
        RunStore(tmp_path).load(spec)


def test_a_file_that_needs_unpickling_is_refused(kept, tmp_path):
    spec, _ = kept
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(b"{}", np.uint8), c0=np.array([{"a": 1}], object))
    data = buffer.getvalue()
    with pytest.raises(ValueError):
        decode(data)
    (tmp_path / spec.filename).write_bytes(data)
    (tmp_path / RunStore.MANIFEST).write_text(json.dumps(
        {"file": spec.filename, "sha256": hashlib.sha256(data).hexdigest(),
         "spec": spec.record()}) + "\n")
    with pytest.raises(RunFileError, match="not a kept run"):
        RunStore(tmp_path).load(spec)


def test_workers_are_forked_only_without_other_threads_or_numbas_pool(monkeypatch):
    from numba.np.ufunc import parallel

    def context(threads: int, pool_started: bool) -> str:
        monkeypatch.setattr(threading, "active_count", lambda: threads)
        monkeypatch.setattr(parallel, "_is_initialized", pool_started)
        return ensemble.worker_context().get_start_method()

    assert context(1, False) == ("fork" if sys.platform == "linux" else "spawn")
    assert context(2, False) == "spawn"   # e.g. a progress bar's monitor, a Dask client
    assert context(1, True) == "spawn"    # kernels already ran on Numba's threads here


def test_sigterm_with_forked_workers_keeps_finished_runs_and_ends(tmp_path):
    """SIGTERM while two workers run: the study stops as with one worker (exit 143, the runs
    saved so far kept, no report), and ends: the workers do not keep the parent's handler."""
    out = tmp_path / "stopped"
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "compare", str(TINY), "--replicates", "6",
         "--weeks", "8", "--workers", "2", "--quiet", "--out", str(out)], cwd=ROOT,
        env={**os.environ, STOP_AT: "runs:1:SIGTERM"}, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 143 and "--resume" in result.stderr, result.stderr
    assert len(list((out / "runs").glob("*.npz"))) == 1 and not (out / "report.md").exists()


def test_a_forked_worker_drops_the_parents_sigterm_handler():
    import numba

    threads = numba.get_num_threads()
    previous = signal.signal(signal.SIGTERM, lambda *_: None)   # as `sim.cli` installs one
    try:
        ensemble._worker_setup()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert numba.get_num_threads() == 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        numba.set_num_threads(threads)
