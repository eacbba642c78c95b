"""Naloxone access in the US: over-the-counter sales and other changes in how many kits are at
hand when an overdose happens."""

from __future__ import annotations

from dataclasses import dataclass

from sim.policies.base import Levers, Policy, register, spec

STEIN_2025 = ("Stein et al., JAMA Intern Med 2025 (NielsenIQ, Sep 2023-Sep 2024): 396 OTC units "
              "sold per million residents in the first year, against 7,063 pharmacy-dispensed "
              "(2023) and about 6,000 a year program-distributed; 1 + 396 / 13,070 = 1.03")


@register("naloxone_access")
@dataclass
class NaloxoneAccess(Policy):
    """More naloxone kits at hand (e.g. over-the-counter sales from September 2023, after FDA
    approval on 29 March 2023). Changes: naloxone coverage x `naloxone_multiplier` (capped at
    1): the share of overdoses where naloxone is given grows with the kits in circulation."""

    story = "naloxone sold over the counter: a few more overdoses are reversed"

    naloxone_multiplier: float = spec(1.03, low=1.0, high=5.0, unit="x naloxone coverage",
                                      doc=STEIN_2025)

    def modify(self, levers: Levers, model) -> None:
        levers.naloxone_coverage = min(1.0, levers.naloxone_coverage * self.naloxone_multiplier)
