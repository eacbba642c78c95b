"""`Param`: one entry of the parameter table (a default with its unit, source and range), and the
sources several actors' tables cite. Each actor module declares its own group (`PARAMS`);
`sim.params` assembles them into the one table scenarios override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """A default value with its unit, its source and the range a scenario may set."""

    value: Any
    unit: str
    source: str
    low: float | None = None
    high: float | None = None


ASSUMPTION = "assumption"
NSDUH = "SAMHSA NSDUH (about 2.1-2.5 million US adults with opioid use disorder, 2016-2021)"
NARCOLOGIC = "Magliocca et al., PNAS 116(16):7784, 2019 (NarcoLogic)"
CAULKINS_KILMER = "Caulkins & Kilmer: pills hold 2-2.5 mg and sell for $5-10"
FITTED = "; scenarios/baseline.yaml sets a fitted value (docs/calibration.md)"
