"""The COVID-19 pandemic's disruption of US drug use and services (from March 2020)."""

from __future__ import annotations

from dataclasses import dataclass

from sim.policies.base import Levers, Policy, register, spec

HAN_00438 = ("CDC Health Alert Network HAN-00438, 17 Dec 2020: overdose deaths accelerated "
             "from March 2020 with the pandemic's mitigation measures; more use alone and "
             "disrupted services")


@register("pandemic_disruption")
@dataclass
class PandemicDisruption(Policy):
    """Lockdowns make people use alone and disrupt services. Changes: naloxone coverage
    (x `naloxone_multiplier`: fewer overdoses are witnessed, so fewer are reversed) and
    outreach (x `treatment_entry_multiplier` on the weekly chance of seeking a place on
    medication for opioid use disorder; it changes entries only while places are free)."""

    story = ("lockdowns make more people use alone and disrupt services: fewer overdoses are "
             "reversed and fewer people enter treatment")

    naloxone_multiplier: float = spec(0.6, low=0.0, high=1.0, unit="x naloxone coverage",
                                      doc="assumption after " + HAN_00438)
    treatment_entry_multiplier: float = spec(0.8, low=0.0, high=1.0, unit="x entry chance",
                                             doc="assumption after " + HAN_00438)

    def modify(self, levers: Levers, model) -> None:
        levers.naloxone_coverage *= self.naloxone_multiplier
        levers.treatment_entry_multiplier *= self.treatment_entry_multiplier
