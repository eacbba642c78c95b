"""The wall time of a posterior calibration of the baseline (`run.py calibrate --method
posterior`) at the size docs/uncertainty.md uses, in a fresh process on all cores."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.whole_runs import BASELINE, timed_process

# docs/uncertainty.md: 2 replicates, 20 design and 10 refinement points per parameter (14), 60
# predictive runs; --quick: a tenth of the design, no refinement or predictive runs
DOCS_SIZE = {"--replicates": 2, "--design-points": 280, "--refine-points": 140,
             "--check-runs": 60}
QUICK_SIZE = {"--replicates": 1, "--design-points": 28, "--refine-points": 0, "--check-runs": 0}


def figures(quick: bool) -> dict:
    size = QUICK_SIZE if quick else DOCS_SIZE
    with tempfile.TemporaryDirectory() as temp:
        args = ["run.py", "calibrate", BASELINE, "--method", "posterior", "--out",
                str(Path(temp) / "posterior"), "--quiet"]
        for option, value in size.items():
            args += [option, str(value)]
        seconds, _ = timed_process(args)
    runs = (size["--design-points"] + size["--refine-points"]) * size["--replicates"] \
        + size["--check-runs"]
    return {"posterior_calibration_s": seconds, "posterior_calibration_runs": runs}
