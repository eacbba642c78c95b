"""Command line: `python run.py scenarios/baseline.yaml` (see `python run.py --help`)."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
