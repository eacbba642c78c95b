"""What every precursor buyer does, cartel or US mail-order buyer: keep supplier links to makers,
order what the sales target needs, lose suppliers who refuse or get caught, search for new ones,
and plan next week's sales target from the retail price.

Stocks are in kg of pure fentanyl or its equivalent: precursor_stock_kg counts what the
precursor on hand will yield. Every buyer's supplier links are one structure of arrays
(`SupplierLinks`), which kernels (`sim.kernels.buyers`) update for all buyers at once; each
buyer's own decisions (what it wants, its sales target) touch a handful of numbers. Randomness
comes from the counter-based streams in `sim.kernels.rng`, keyed on the buyer
(`sim.kernels.layout.buyer_index`), so decisions do not depend on the order buyers act in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from mesa.discrete_space import FixedAgent

from sim.actors import clip, per_model, registered
from sim.kernels import buyers as kernels
from sim.kernels import layout, rng

T = TypeVar("T")


class SupplierLinks:
    """Every buyer's supplier links to makers: slots[b, :count[b]] are buyer b's maker slots
    (int64), in the order its rules keep them (sorted after each week's orders, new suppliers
    appended); finished_only[b]: buyer b uses only makers of finished substances. A row has room
    for every maker slot (links are distinct)."""

    def __init__(self, n_buyers: int, n_maker_slots: int):
        self.slots = np.zeros((n_buyers, n_maker_slots), np.int64)
        self.count = np.zeros(n_buyers, np.int64)
        self.finished_only = np.zeros(n_buyers, bool)
        self.lost = np.zeros(n_maker_slots, np.uint8)   # scratch for `after_orders`

    def of(self, buyer: int) -> np.ndarray:
        """Buyer's links (a view)."""
        return self.slots[buyer, : self.count[buyer]]

    def set(self, buyer: int, slots: np.ndarray) -> None:
        self.count[buyer] = slots.size
        self.slots[buyer, : slots.size] = slots

    def maker_arrays(self, makers, network, chemicals) -> tuple:
        """What `usable` reads (after `finished_only`): makers' state, routes, chemicals."""
        return (makers.active, makers.region, makers.mode, makers.chemical,
                network.precursor_route, chemicals.finished)


class PrecursorBuyer(FixedAgent):
    """A buyer of precursor chemicals or finished substances from makers (subclasses: `Cartel`,
    `MailBuyer`). `index` is its place in the world file's `cartels` list (its routes, draws
    and row of the supplier links are keyed on it)."""

    finished_only = False   # uses only makers of finished substances

    def __init__(self, model, spec: dict, index: int, cell, target_kg_per_week: float):
        super().__init__(model)
        self.name, self.index, self.cell = spec["name"], index, cell
        self.params = model.params["cartels"]   # the scenario's (read-only) `cartels` group
        self.target_kg_per_week = target_kg_per_week
        self.supply_ema_kg = target_kg_per_week
        self.fentanyl_stock_kg = self.precursor_stock_kg = 0.0
        model.links.finished_only[index] = self.finished_only
        routes = model.network.precursor_route[:, :, index]
        self.transit_weeks = int(model.network.routes.transit_weeks[routes[routes >= 0]].max())
        self.made_kg = self.delivered_kg = self.revenue_usd = 0.0
        # the weekly rules' constants, read once (`wanted_kg`, `plan`; the group is read-only)
        self.lead_weeks_held = self.lead_weeks()
        self.order_cap_weeks = self.params["order_cap_weeks"]
        self.supply_memory_rate = self.params["supply_memory_rate"]
        self.target_supply_cap = self.params["target_supply_cap"]

    @property
    def links(self) -> np.ndarray:
        """The maker slots this buyer orders from (a view of `model.links`)."""
        return self.model.links.of(self.index)

    # --- suppliers and orders ------------------------------------------------------------
    def usable(self, makers, slots: np.ndarray) -> np.ndarray:
        """Which maker slots this buyer can use: active, with a route from the maker to it (and
        selling finished substances, for a finished-only buyer)."""
        model = self.model
        return kernels.usable_np(slots, self.index, self.finished_only,
                                 *model.links.maker_arrays(makers, model.network, model.chemicals))

    def first_links(self, makers, seed: int) -> None:
        """Start with half the most supplier links, drawn at random among usable makers."""
        slots = np.arange(len(makers))
        usable = slots[self.usable(makers, slots)]
        u = rng.draws(seed, rng.SETUP, 1, layout.setup_link_index(self.index, usable))
        self.model.links.set(self.index, np.sort(
            usable[np.argsort(u)[: self.params["supplier_links_max"] // 2]]))

    def lead_weeks(self) -> float:
        """Weeks of target sales the buyer keeps in stock and on its way."""
        raise NotImplementedError

    def wanted_kg(self, in_transit_kg: float) -> float:
        """What it orders this week (kg fentanyl-equivalent) for expected needs: `lead_weeks` of
        target sales, counting stock and what is on its way (in_transit_kg), at most
        `order_cap_weeks` of target sales; the trade spreads it over its suppliers by capacity
        (`sim.kernels.buyers.orders`)."""
        target = self.target_kg_per_week
        position = self.precursor_stock_kg + in_transit_kg + self.fentanyl_stock_kg
        return min(max(0.0, target * self.lead_weeks_held - position),
                   self.order_cap_weeks * target)

    # --- receiving and planning ----------------------------------------------------------
    def receive(self, precursor_fe_kg: float, finished_kg: float, fentanyl_kg: float,
                wholesale_usd_per_kg: float, dealers) -> float:
        """This week's deliveries (precursor as its fentanyl yield, finished substances, the
        buyer's own fentanyl loads, kg); returns kg it put on US retail markets."""
        raise NotImplementedError

    def supplied_kg(self) -> float:
        """kg the buyer supplied this week (what its sales target is held to)."""
        raise NotImplementedError

    @classmethod
    def week_end(cls, model, outcome) -> None:
        """What buyers of this kind learn from the week's outcomes (`sim.pipeline.WeekOutcome`),
        all at once, before they plan: nothing, unless the kind says."""

    def plan(self, growth: float) -> None:
        """End of the week, after its supplier links (lost to joint operations, new suppliers
        found: `buyers_adapt`) and, for a cartel, its routes' losses: grow or shrink the sales
        target by `growth` (`target_growth`: the same for every buyer), but not beyond
        `target_supply_cap` times what the buyer has lately managed to supply."""
        ema = self.supply_ema_kg
        self.supply_ema_kg = ema = ema + self.supply_memory_rate * (self.supplied_kg() - ema)
        cap = max(0.01, self.target_supply_cap * ema)
        self.target_kg_per_week = float(min(max(self.target_kg_per_week * growth, 0.01), cap))


def target_growth(rule: tuple[float, float, float], price_ratio: float) -> float:
    """The factor every buyer's sales target moves by this week before its cap: 1 +
    expansion_rate x the retail price premium (price_ratio - 1, within price_premium_floor and
    price_premium_ceiling); rule: those three of the `cartels` group (`growth_rule`)."""
    floor, ceiling, expansion_rate = rule
    return 1.0 + expansion_rate * clip(price_ratio - 1.0, floor, ceiling)


def growth_rule(params) -> tuple[float, float, float]:
    """`target_growth`'s numbers from the `cartels` group: the price premium's floor and
    ceiling, the expansion rate."""
    return (params["price_premium_floor"], params["price_premium_ceiling"],
            params["expansion_rate"])


def buyers(model) -> list[PrecursorBuyer]:
    """Every buyer, cartels and mail-order buyers, in the world file's order (their `index`),
    from Mesa's registry; kept once all are built (one per row of `model.links`): no agent
    joins or leaves a model after it is built."""
    return _kept(model)[0]


def once_built(model, name: str, build: Callable[[], T]) -> T:
    """`build()`, kept on the model under `name` once every buyer is built (one per row of
    `model.links`; no agent joins or leaves a model after that), made afresh before."""
    kept = model.__dict__.get(name)
    if kept is None:
        kept = build()
        if len(registered(model, PrecursorBuyer)) == model.links.count.size:
            model.__dict__[name] = kept
    return kept


def _kept(model) -> tuple[list[PrecursorBuyer], tuple[type, ...]]:
    """(`buyers`, their kinds in order of first appearance that learn something at the
    week's end: whose `week_end` is their own)."""
    def build():
        every = registered(model, PrecursorBuyer)
        base = PrecursorBuyer.week_end.__func__
        return (every, tuple(kind for kind in dict.fromkeys(type(b) for b in every)
                             if getattr(kind.week_end, "__func__", kind.week_end) is not base))

    return once_built(model, "_buyers", build)


def _adapt_arguments(model) -> tuple[tuple, tuple, tuple]:
    """What `buyers_adapt` reads that stays the same all run, built once per model: the
    arguments of `sim.kernels.buyers.links_week` before the cut chances and after the search
    rate (arrays it updates in place, maker state, routes), and the `cartels` group's (read-only)
    `growth_rule` and search numbers."""
    def build():
        links, makers, p = model.links, model.makers, model.params["cartels"]
        return ((links.slots, links.count, links.finished_only, makers.country),
                (makers.active, makers.online, makers.region, makers.mode, makers.chemical,
                 model.network.precursor_route, model.chemicals.finished),
                (growth_rule(p), p["supplier_search_prob"], int(p["supplier_links_max"]),
                 float(p["broker_search_factor"])))

    return per_model(model, "_buyers_adapt_arguments", build)


def buyers_adapt(model, week) -> None:
    """Phase: joint law-enforcement operations cut links to makers in the countries they cover
    (each with that country's weekly cut_prob), buyers meet active makers (supplier_search_prob
    x a policy's multiplier tries a week; an online seller is taken up at once, an offline one
    only through a broker: broker_search_factor), for all buyers at once
    (`sim.kernels.buyers.links_week`); each kind of buyer learns from the week's outcomes
    (`PrecursorBuyer.week_end`), then every buyer plans."""
    seed, number, levers = model.seed, week.number, model.levers
    before, after, (rule, search_prob, links_max, broker_factor) = _adapt_arguments(model)
    rate = float(search_prob * levers.supplier_search_multiplier)
    layout.within_span(2 * math.ceil(rate) + 1, "supplier search draws")
    keys = rng.keys_of_week(seed, number)
    kernels.links_week(*before, levers.link_cut_prob, keys[rng.LINK_CUT], links_max, rate,
                       broker_factor, keys[rng.SUPPLIER_SEARCH], *after)
    every, kinds = _kept(model)
    for kind in kinds:
        kind.week_end(model, week.outcome)
    growth = target_growth(rule, model.dealers.price_ratio())
    for buyer in every:
        buyer.plan(growth)
