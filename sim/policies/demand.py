"""Demand-side policy in the US: treatment, naloxone and prevention."""

from __future__ import annotations

from dataclasses import dataclass

from sim.policies.base import Levers, Policy, register, spec


@register("demand_reduction")
@dataclass
class DemandReduction(Policy):
    """The US treats demand (China and Mexico urge it, seed article 000). Changes: places on
    medication for opioid use disorder (MOUD: x `treatment_capacity_multiplier`) and outreach
    (x `treatment_entry_multiplier` on the weekly chance of seeking a place), naloxone coverage
    (raised to at least `naloxone_coverage`), and initiation (x 1 - `prevention`)."""

    story = ("more medication (methadone, buprenorphine) and naloxone in the US: more people are "
             "protected while on medication and fewer die per overdose")

    treatment_capacity_multiplier: float = spec(1.5, low=0.0, high=20.0, unit="x MOUD places",
                                                doc="lever")
    treatment_entry_multiplier: float = spec(1.5, low=0.0, high=20.0, unit="x entry chance",
                                             doc="lever")
    naloxone_coverage: float = spec(0.6, low=0.0, high=1.0, unit="share of overdoses",
                                    doc="lever; Rao et al. 2021 found +30% naloxone averted "
                                    "~25% of deaths")
    prevention: float = spec(0.2, low=0.0, high=1.0, unit="share of initiation prevented",
                             doc="lever")

    def modify(self, levers: Levers, model) -> None:
        levers.treatment_capacity_people *= self.treatment_capacity_multiplier
        levers.treatment_entry_multiplier *= self.treatment_entry_multiplier
        levers.naloxone_coverage = max(levers.naloxone_coverage, self.naloxone_coverage)
        levers.initiation_multiplier *= 1 - self.prevention
