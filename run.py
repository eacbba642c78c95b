"""Command line: `python run.py scenarios/baseline.yaml` (see `python run.py --help`)."""

import gc
import sys

gc.disable()   # while the modules load; `sim.cli.load_command` turns it on before the command runs
from sim.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
