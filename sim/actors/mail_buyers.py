"""US mail-order buyers: people in the US who order finished fentanyl-related substances from
Chinese sellers by mail (the main route before China's class-wide control in May 2019), as
Mesa agents.

They buy as every precursor buyer does (`sim.actors.buyers`), but only finished substances, hold
no stock (they sell on at once in their home market) and have no labs, routes north or arms.
Parameters: the `cartels` group (supplier search, orders, planning). Columns: none of their own
(what they bring in counts in `fentanyl_to_us_kg`).
"""

from __future__ import annotations

from sim.actors.buyers import PrecursorBuyer


class MailBuyer(PrecursorBuyer):
    """US buyers of finished substances by mail (world file: a `cartels` entry with no
    `lab_region` and a `home` US market)."""

    finished_only = True

    def __init__(self, model, spec: dict, index: int, cell, target_kg_per_week: float):
        super().__init__(model, spec, index, cell, target_kg_per_week)
        self.home_market = model.network.market_names.index(spec["home"])

    def lead_weeks(self) -> float:
        """Mail takes its transit, and the buyer holds one week's sales at most."""
        return self.transit_weeks + 1

    def supplied_kg(self) -> float:
        return self.delivered_kg

    def receive(self, precursor_fe_kg, finished_kg, fentanyl_kg, wholesale_usd_per_kg,
                dealers) -> float:
        """Finished substances go straight to the home market's dealers."""
        self.precursor_stock_kg += precursor_fe_kg
        dealers.stock_kg[self.home_market] += finished_kg
        self.delivered_kg = finished_kg
        self.revenue_usd = self.delivered_kg * wholesale_usd_per_kg
        return finished_kg
