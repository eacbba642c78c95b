"""Same scenario and seed, same output (with the JIT on or off); common random numbers."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.config import load_scenario
from sim.model import FentanylModel
from tests.conftest import SMALL, TINY, frame

ROOT = Path(__file__).resolve().parents[1]


def run_frame(path, weeks=None, seed=None):
    model = FentanylModel(load_scenario(path).with_overrides(seed=seed, weeks=weeks))
    model.run()
    return frame(model)


def test_same_seed_same_output_and_another_seed_differs():
    a = run_frame(SMALL, weeks=120)
    b = run_frame(SMALL, weeks=120)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = run_frame(SMALL, weeks=120, seed=43)
    assert not a["overdose_deaths"].equals(c["overdose_deaths"])


def test_identical_with_and_without_the_jit(tmp_path):
    """The whole model in plain Python (NUMBA_DISABLE_JIT=1) writes the same timeseries."""
    outputs = {}
    for jit in ("0", "1"):
        out = tmp_path / f"jit_disabled_{jit}"
        env = {**os.environ, "NUMBA_DISABLE_JIT": jit}
        subprocess.run([sys.executable, "run.py", str(TINY), "--weeks", "30", "--out", str(out),
                        "--no-plots", "--quiet"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=600)
        outputs[jit] = (out / "timeseries.csv").read_text()
    assert outputs["0"] == outputs["1"]
    assert len(outputs["0"].splitlines()) == 31


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    """The small baseline, and the same with a sanction starting in week 100."""
    folder = tmp_path_factory.mktemp("crn")
    child = folder / "late_sanction.yaml"
    start = load_scenario(SMALL).start
    day = start.fromordinal(start.toordinal() + 7 * 100 + 2).isoformat()
    child.write_text(f"extends: {SMALL}\nweeks: 130\npolicies:\n  - type: sanctions\n"
                     f"    firms: 100\n    start: {day}\n")
    return run_frame(SMALL, weeks=130), run_frame(child)


def test_common_random_numbers_until_the_first_week_that_differs(paired):
    base, policy = paired
    pd.testing.assert_frame_equal(base.iloc[:100], policy.iloc[:100], check_exact=True)
    differs = [c for c in base.columns if not base[c].iloc[100:].equals(policy[c].iloc[100:])]
    assert "china_cooperation" in differs and len(differs) > 10


def test_common_random_numbers_keep_paired_differences_small(paired):
    """Users untouched by a policy keep their draws: weekly deaths right after the change
    differ far less than between two seeds."""
    base, policy = paired
    other_seed = run_frame(SMALL, weeks=130, seed=99)
    window = slice(100, 110)
    paired_gap = (base["overdose_deaths"][window] - policy["overdose_deaths"][window]).abs().sum()
    seed_gap = (base["overdose_deaths"][window] - other_seed["overdose_deaths"][window]).abs().sum()
    assert paired_gap < 0.25 * seed_gap
