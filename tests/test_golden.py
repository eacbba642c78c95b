"""Golden outputs: refactoring must leave results byte-identical.

The sha256 of `timeseries.csv` (as `run` writes it) for two fixed runs. A commit meant to move
numbers changes these hashes in its own commit and says why; any other change keeps them.
"""

from __future__ import annotations

import hashlib

import pytest

from sim.config import load_scenario
from sim.model import FentanylModel
from sim.output import write_results
from tests.conftest import DATA, ROOT

GOLDEN = {
    # (scenario file, weeks, seed): sha256 of timeseries.csv
    (DATA / "small.yaml", 60, 3):
        "0e1431cb65ba60f693ca3942d72b38ff080ede02e7dbc98faa572dd66b291197",
    (ROOT / "scenarios" / "baseline.yaml", 30, 11):
        "21ffaa7784890875069d9ca189af598a6357ad8c742a4395c348fcfe4b270735",
}


@pytest.mark.parametrize("case", list(GOLDEN), ids=lambda case: case[0].stem)
def test_timeseries_is_byte_identical_to_the_golden_run(case, tmp_path):
    path, weeks, seed = case
    model = FentanylModel(load_scenario(path).with_overrides(seed=seed, weeks=weeks))
    model.run()
    write_results(model, tmp_path, 0.0, plots=False)
    digest = hashlib.sha256((tmp_path / "timeseries.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[case]
