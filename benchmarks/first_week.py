"""A fresh process to the end of week 1 of the baseline (no results written): what
`cold_start_s` and `warm_start_s` time. Run as `python -m benchmarks.first_week`; it prints the
wall-clock time (`time.time()`, s) at which week 1 ended, so the parent can time the process
from its start to that moment, leaving out interpreter shutdown."""

import time
from pathlib import Path

from sim.config import load_scenario
from sim.model import FentanylModel

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"

if __name__ == "__main__":
    FentanylModel(load_scenario(BASELINE)).step()
    print(f"{time.time():.6f}", flush=True)
