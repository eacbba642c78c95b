"""What every precursor buyer does, cartel or US mail-order buyer: keep supplier links to makers,
order what the sales target needs, lose suppliers who refuse or get caught, search for new ones,
and plan next week's sales target from the retail price.

Stocks are in kg of pure fentanyl or its equivalent: precursor_stock_kg counts what the
precursor on hand will yield. Randomness comes from the counter-based streams in
`sim.kernels.rng`, keyed on the buyer (`sim.kernels.layout.buyer_index`), so decisions do not
depend on the order buyers act in.
"""

from __future__ import annotations

import math

import numpy as np
from mesa.discrete_space import FixedAgent

from sim.kernels import layout, rng


class PrecursorBuyer(FixedAgent):
    """A buyer of precursor chemicals or finished substances from makers (subclasses: `Cartel`,
    `MailBuyer`). `index` is its place in the world file's `cartels` list (its routes and
    draws are keyed on it)."""

    def __init__(self, model, spec: dict, index: int, cell, target_kg_per_week: float):
        super().__init__(model)
        self.name, self.index, self.cell = spec["name"], index, cell
        self.target_kg_per_week = target_kg_per_week
        self.supply_ema_kg = target_kg_per_week
        self.fentanyl_stock_kg = self.precursor_stock_kg = 0.0
        self.links = np.empty(0, np.int64)
        routes = model.network.precursor_route[:, :, index]
        self.transit_weeks = int(model.network.routes.transit_weeks[routes[routes >= 0]].max())
        self.made_kg = self.delivered_kg = self.revenue_usd = 0.0

    @property
    def params(self) -> dict:
        return self.model.params["cartels"]

    # --- suppliers and orders ------------------------------------------------------------
    def usable(self, makers, slots: np.ndarray) -> np.ndarray:
        """Which maker slots this buyer can use: active, with a route from the maker to it."""
        return (makers.active[slots] == 1) & (self.model.network.precursor_route[
            makers.region[slots], makers.mode[slots], self.index] >= 0)

    def first_links(self, makers, seed: int) -> None:
        """Start with half the most supplier links, drawn at random among usable makers."""
        slots = np.arange(len(makers))
        usable = slots[self.usable(makers, slots)]
        u = rng.draws(seed, rng.SETUP, 1, layout.setup_link_index(self.index, usable))
        self.links = np.sort(usable[np.argsort(u)[: self.params["supplier_links_max"] // 2]])

    def lead_weeks(self) -> float:
        """Weeks of target sales the buyer keeps in stock and on its way."""
        raise NotImplementedError

    def orders(self, in_transit_kg: float) -> tuple[np.ndarray, np.ndarray]:
        """Orders (maker slots, kg of their chemical) for expected needs: `lead_weeks` of
        target sales, counting stock and what is on its way (in_transit_kg, fentanyl-equivalent),
        at most `order_cap_weeks` of target sales a week, spread over suppliers by capacity."""
        model, p = self.model, self.params
        makers = model.makers
        self.links = self.links[self.usable(makers, self.links)]
        if self.links.size == 0:
            return self.links, np.empty(0)
        position = self.precursor_stock_kg + in_transit_kg + self.fentanyl_stock_kg
        wanted = min(max(0.0, self.target_kg_per_week * self.lead_weeks() - position),
                     p["order_cap_weeks"] * self.target_kg_per_week)
        capacity = makers.capacity_kg[self.links]
        if wanted <= 0 or capacity.sum() <= 0:
            return self.links, np.zeros(self.links.size)
        yields = model.chemicals.yield_kg_per_kg[makers.chemical[self.links]]
        return self.links, wanted * capacity / capacity.sum() / yields

    def after_orders(self, makers: np.ndarray, refused: np.ndarray, seized: np.ndarray) -> None:
        """Drop suppliers who refused; lose a supplier whose shipment was seized with
        probability `link_loss_on_seizure`."""
        model = self.model
        u = rng.draws(model.seed, rng.LINK_LOSS, model.week,
                      layout.buyer_index(self.index, makers, "maker slots"))
        lost = (refused == 1) | (seized & (u < self.params["link_loss_on_seizure"]))
        self.links = np.setdiff1d(self.links, makers[lost])

    def lose_links_to_operations(self) -> None:
        """Joint law-enforcement operations cut supplier links to makers in the countries they
        cover, each with that country's weekly link_cut_prob."""
        model = self.model
        cut_prob = model.levers.link_cut_prob[model.makers.country[self.links]]
        if self.links.size == 0 or not cut_prob.any():
            return
        u = rng.draws(model.seed, rng.LINK_CUT, model.week,
                      layout.buyer_index(self.index, self.links, "maker slots"))
        self.links = self.links[u >= cut_prob]

    def search_suppliers(self) -> None:
        """Meet active makers: each try draws one at random from those selling; an online
        seller is taken up at once, an offline one only through a broker
        (broker_search_factor)."""
        model, p = self.model, self.params
        if self.links.size >= p["supplier_links_max"]:
            return
        rate = p["supplier_search_prob"] * model.levers.supplier_search_multiplier
        u = rng.draws(model.seed, rng.SUPPLIER_SEARCH, model.week, layout.buyer_index(
            self.index, np.arange(2 * math.ceil(rate) + 1), "supplier search draws"))
        tries = int(rate) + int(u[0] < rate - int(rate))
        makers = model.makers
        sellers = np.flatnonzero(makers.active)
        if sellers.size == 0:
            return
        for t in range(tries):
            slot = sellers[int(u[1 + 2 * t] * sellers.size)]
            accept = makers.online[slot] or u[2 + 2 * t] < p["broker_search_factor"]
            if accept and self.usable(makers, np.array([slot]))[0] and slot not in self.links:
                self.links = np.append(self.links, slot)

    # --- receiving and planning ----------------------------------------------------------
    def receive(self, precursor_fe_kg: float, finished_kg: float, fentanyl_kg: float,
                wholesale_usd_per_kg: float, dealers) -> float:
        """This week's deliveries (precursor as its fentanyl yield, finished substances, the
        buyer's own fentanyl loads, kg); returns kg it put on US retail markets."""
        raise NotImplementedError

    def supplied_kg(self) -> float:
        """kg the buyer supplied this week (what its sales target is held to)."""
        raise NotImplementedError

    def adapt(self, outcome, price_ratio: float) -> None:
        """End of the week: lose links to joint operations, search for suppliers, plan."""
        self.lose_links_to_operations()
        self.search_suppliers()
        self.plan(price_ratio)

    def plan(self, price_ratio: float) -> None:
        """Grow or shrink the sales target with the retail price premium, but not beyond
        `target_supply_cap` times what the buyer has lately managed to supply."""
        p = self.params
        self.supply_ema_kg += p["supply_memory_rate"] * (self.supplied_kg() - self.supply_ema_kg)
        premium = float(np.clip(price_ratio - 1.0, p["price_premium_floor"],
                                p["price_premium_ceiling"]))
        cap = max(0.01, p["target_supply_cap"] * self.supply_ema_kg)
        self.target_kg_per_week = float(np.clip(
            self.target_kg_per_week * (1.0 + p["expansion_rate"] * premium), 0.01, cap))


def buyers(model) -> list[PrecursorBuyer]:
    """Every buyer, cartels and mail-order buyers, in the world file's order (their `index`),
    from Mesa's registry."""
    return list(model.agents.select(agent_type=PrecursorBuyer))


def buyers_adapt(model, week) -> None:
    """Phase: every buyer learns from the week, looks for suppliers and plans."""
    price_ratio = model.dealers.price_ratio()
    for buyer in buyers(model):
        buyer.adapt(week.outcome, price_ratio)
