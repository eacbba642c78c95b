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
        "176892bfd35464b18a043f34afd560bd3202abc9d99d73103154a05ca62c71aa",
    (ROOT / "scenarios" / "baseline.yaml", 30, 11):
        "3565279e42f5ecab29da3abe9c8834ddf740373b3695ba9e8d559770a23d94ba",
}


@pytest.mark.parametrize("case", list(GOLDEN), ids=lambda case: case[0].stem)
def test_timeseries_is_byte_identical_to_the_golden_run(case, tmp_path):
    path, weeks, seed = case
    model = FentanylModel(load_scenario(path).with_overrides(seed=seed, weeks=weeks))
    model.run()
    write_results(model, tmp_path, 0.0, plots=False)
    digest = hashlib.sha256((tmp_path / "timeseries.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[case]
