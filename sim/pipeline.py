"""Goods in transit: a ring buffer of what each route delivers, and each post seizes, in each
coming week.

A consignment's fate is drawn when it is dispatched (see `sim.kernels.shipments.inspect`); the
outcome lands in the week the consignment reaches the post that seizes it, or its destination.
So at any time: shipped = delivered + seized + pending, for every kind of goods.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# kinds of goods; all kg are of the goods themselves, `_fe` is fentanyl-equivalent kg
BY_ROUTE = ("precursor_delivered_kg", "precursor_delivered_fe", "finished_delivered_kg",
            "precursor_seized_fe", "precursor_seized_kg_route", "finished_seized_kg_route",
            "fentanyl_delivered_kg", "fentanyl_seized_kg_route")
BY_POST = ("precursor_seized_kg", "finished_seized_kg", "fentanyl_seized_kg")
BY_CHEMICAL = ("seized_kg_by_chemical",)
BY_ROUTE_POST = ("seized_kg_route_post",)   # flattened [route, post]


@dataclass
class WeekOutcome:
    """What resolves in one week: arrays by route or by customs post (kg)."""

    precursor_delivered_kg: np.ndarray
    precursor_delivered_fe: np.ndarray
    finished_delivered_kg: np.ndarray
    precursor_seized_fe: np.ndarray
    precursor_seized_kg_route: np.ndarray
    finished_seized_kg_route: np.ndarray
    fentanyl_delivered_kg: np.ndarray
    fentanyl_seized_kg_route: np.ndarray
    precursor_seized_kg: np.ndarray
    finished_seized_kg: np.ndarray
    fentanyl_seized_kg: np.ndarray
    seized_kg_by_chemical: np.ndarray
    seized_kg_route_post: np.ndarray


class Pipeline:
    """Ring buffer of `WeekOutcome`s, `weeks` long (longer than any route's transit)."""

    def __init__(self, weeks: int, n_routes: int, n_posts: int, n_chemicals: int):
        self.weeks = weeks
        self.ring = {name: np.zeros((weeks, n_routes)) for name in BY_ROUTE}
        self.ring.update({name: np.zeros((weeks, n_posts)) for name in BY_POST})
        self.ring.update({name: np.zeros((weeks, n_chemicals)) for name in BY_CHEMICAL})
        self.ring.update({name: np.zeros((weeks, n_routes * n_posts)) for name in BY_ROUTE_POST})
        self.n_posts = n_posts

    def take(self, week: int) -> WeekOutcome:
        """This week's outcomes; the slot is then free for week + `weeks`."""
        slot = week % self.weeks
        out = WeekOutcome(**{f.name: self.ring[f.name][slot].copy() for f in fields(WeekOutcome)})
        for array in self.ring.values():
            array[slot] = 0.0
        return out

    def pending(self, name: str) -> np.ndarray:
        """Total still in transit, per route or post."""
        return self.ring[name].sum(axis=0)

    def dispatch_precursor(self, week: int, routes, route, kg, fe_kg, finished, product,
                           seized_at):
        """Chemical consignments: kg of chemical, fe_kg of fentanyl it would yield, finished
        (a finished fentanyl-related substance rather than a precursor)."""
        pre, pre_fe = np.where(finished, 0.0, kg), np.where(finished, 0.0, fe_kg)
        fin = np.where(finished, kg, 0.0)
        self._schedule(week, routes, route, seized_at,
                       delivered={"precursor_delivered_kg": pre, "precursor_delivered_fe": pre_fe,
                                  "finished_delivered_kg": fin},
                       seized_route={"precursor_seized_fe": pre_fe,
                                     "precursor_seized_kg_route": pre,
                                     "finished_seized_kg_route": fin},
                       seized_post={"precursor_seized_kg": pre, "finished_seized_kg": fin},
                       product=product, seized_chemical={"seized_kg_by_chemical": kg})

    def dispatch_fentanyl(self, week: int, routes, route, kg, seized_at):
        """Fentanyl loads crossing into the US (kg pure)."""
        self._schedule(week, routes, route, seized_at,
                       delivered={"fentanyl_delivered_kg": kg},
                       seized_route={"fentanyl_seized_kg_route": kg},
                       seized_post={"fentanyl_seized_kg": kg})

    def _schedule(self, week, routes, route, seized_at, delivered: dict, seized_route: dict,
                  seized_post: dict, product=None, seized_chemical=None) -> None:
        """Each consignment is delivered after its route's transit, or seized in the week it
        reaches the post at `seized_at` (an index into routes.posts; -1 = delivered)."""
        if route.size == 0:
            return
        if int(routes.transit_weeks[route].max()) >= self.weeks:
            raise ValueError("a route's transit is longer than the pipeline ring")
        ok = seized_at < 0
        slot = (week + routes.transit_weeks[route[ok]]) % self.weeks
        for name, values in delivered.items():
            np.add.at(self.ring[name], (slot, route[ok]), values[ok])
        hit = np.flatnonzero(~ok)
        if hit.size == 0:
            return
        j = seized_at[hit]
        slot = (week + routes.post_offset_weeks[j]) % self.weeks
        for name, values in seized_post.items():
            np.add.at(self.ring[name], (slot, routes.posts[j]), values[hit])
            np.add.at(self.ring["seized_kg_route_post"],
                      (slot, route[hit] * self.n_posts + routes.posts[j]), values[hit])
        for name, values in seized_route.items():
            np.add.at(self.ring[name], (slot, route[hit]), values[hit])
        for name, values in (seized_chemical or {}).items():
            np.add.at(self.ring[name], (slot, product[hit]), values[hit])
