"""US sanctions on Chinese firms and, optionally, China's Institute of Forensic Science."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.countries import CHINA
from sim.policies.base import Levers, Policy, register, spec


@register("sanctions")
@dataclass
class Sanctions(Policy):
    """The US designates the `firms` Chinese makers with the largest recent sales.

    Changes: a sanctioned firm loses `banking_loss` of its capacity (payments and banking cut
    off) and re-registers under a new name after a random lag (mean `relist_lag_weeks`), which
    ends the sanction for it. While the sanction stands China's cooperation target falls by
    `cooperation_penalty`, and by `institute_penalty` more if the Institute of Forensic Science
    is listed; a `bilateral_deal` that requires the objected-to sanction lifted does not act.
    """

    story = ("sanctioned Chinese firms lose their banks and much of their capacity, then re- "
             "register under new names; China cooperates less while they stand")

    firms: int = spec(32, low=0, high=100_000, unit="firms", doc="firms designated at start")
    institute: bool = spec(False, doc="also list the Institute of Forensic Science")
    banking_loss: float = spec(0.7, low=0.0, high=1.0, unit="share of capacity",
                               doc="assumption")
    relist_lag_weeks: float = spec(26.0, low=1.0, high=1000.0, unit="weeks (mean)",
                                   doc="assumption: new company names within months")
    cooperation_penalty: float = spec(0.05, low=0.0, high=1.0, unit="cooperation (0-1)",
                                      doc="assumption")
    institute_penalty: float = spec(0.4, low=0.0, high=1.0, unit="cooperation (0-1)",
                                    doc="assumption: China conditioned talks on delisting "
                                    "(seed article 000)")
    designated: np.ndarray = field(default=None, init=False, repr=False)
    order = 0

    def on_start(self, model) -> None:
        makers = model.makers
        chinese = np.flatnonzero((makers.active == 1) & (makers.country == CHINA)
                                 & (makers.sanctioned == 0))
        ranked = chinese[np.lexsort((chinese, -makers.sales_kg[chinese]))]
        self.designated = ranked[: self.firms]
        makers.sanctioned[self.designated] = 1

    def on_end(self, model) -> None:
        """Lift this designation. A slot that a `sanctions` policy started later and still
        running has designated (a firm that re-registered, or an entrant in a vacated slot)
        stays listed; a later policy can only have listed it after this listing ended."""
        if self.designated is None:
            return
        later = [p.designated for p in model.policies if isinstance(p, Sanctions)
                 and p.start_week > self.start_week and p.active(model.week)]
        kept = np.concatenate(later) if later else np.empty(0, np.int64)
        model.makers.sanctioned[np.setdiff1d(self.designated, kept)] = 0

    def modify(self, levers: Levers, model) -> None:
        levers.sanction_capacity_loss = max(levers.sanction_capacity_loss, self.banking_loss)
        levers.relist_hazard = max(levers.relist_hazard, 1.0 / self.relist_lag_weeks)
        levers.cooperation_shift -= self.cooperation_penalty
        if self.institute:
            levers.cooperation_shift -= self.institute_penalty
            levers.objected_sanctions += 1
