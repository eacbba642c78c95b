"""Whole runs in fresh processes, as a user starts them: the baseline at the default population
and at 10 million users, the first week with and without the Numba cache, an ensemble and a
Sobol' sensitivity study."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "scenarios/baseline.yaml"
CLASSROOM = "scenarios/classroom_small.yaml"


def timed_process(args: list[str]) -> tuple[float, float]:
    """Run `python args...` in the project folder; returns (wall seconds, peak RSS in MB)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed:\n{errors.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0   # ru_maxrss is in KB on Linux


def baseline_run(out: Path, agents: int | None = None, weeks: int | None = None
                 ) -> tuple[float, float]:
    """`run.py` on the baseline without plots; returns (wall seconds, peak RSS in MB)."""
    args = ["run.py", BASELINE, "--no-plots", "--quiet", "--force", "--out", str(out)]
    if agents is not None:
        args += ["--set", f"users.agents={agents}"]
    if weeks is not None:
        args += ["--weeks", str(weeks)]
    return timed_process(args)


def first_week(cache_dir: Path) -> float:
    """Wall seconds from starting a fresh process to the end of its week 1, with this Numba
    cache folder (interpreter shutdown after the week is not counted). Python caches bytecode
    as it does by default, even where PYTHONDONTWRITEBYTECODE is set (as on this machine):
    a warm start is warm in both caches."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.time()
    week_ended = subprocess.run([sys.executable, "-m", "benchmarks.first_week"], cwd=ROOT,
                                env=env, check=True, capture_output=True, text=True).stdout
    return float(week_ended.split()[-1]) - started


def ensemble(out: Path, replicates: int, weeks: int | None = None) -> float:
    """Wall seconds of `run.py compare` on the baseline with `replicates` runs on all cores."""
    args = ["run.py", "compare", BASELINE, "--replicates", str(replicates), "--out", str(out),
            "--force", "--quiet"]
    if weeks is not None:
        args += ["--weeks", str(weeks)]
    return timed_process(args)[0]


def sobol_study(out: Path, n: int = 64, weeks: int = 104) -> tuple[float, int]:
    """Wall seconds of `run.py sensitivity` on the classroom scenario (20,000 person-agents, 500
    firms): Sobol' indices of the ten documented uncertain parameters from n x (10 + 2) points,
    `weeks` weeks each, on all cores; and the number of runs."""
    from sim.uncertain import PLAUSIBLE

    args = ["run.py", "sensitivity", CLASSROOM, "--method", "sobol", "--n", str(n), "--weeks",
            str(weeks), "--out", str(out), "--force", "--quiet"]
    return timed_process(args)[0], n * (len(PLAUSIBLE) + 2)
