"""Goods in transit: a ring buffer of what each route delivers, and each post seizes, in each
coming week.

A consignment's fate is drawn when it is dispatched (see `sim.kernels.shipments.inspect`); the
outcome lands in the week the consignment reaches the post that seizes it, or its destination
(`sim.kernels.shipments.schedule`). So at any time: shipped = delivered + seized + pending, for
every kind of goods.
"""

from __future__ import annotations

import numpy as np

# kinds of goods; all kg are of the goods themselves, `_fe` is fentanyl-equivalent kg
BY_ROUTE = ("precursor_delivered_kg", "precursor_delivered_fe", "finished_delivered_kg",
            "precursor_seized_fe", "precursor_seized_kg_route", "finished_seized_kg_route",
            "fentanyl_delivered_kg", "fentanyl_seized_kg_route")
BY_POST = ("precursor_seized_kg", "finished_seized_kg", "fentanyl_seized_kg")
BY_CHEMICAL = ("seized_kg_by_chemical",)
BY_ROUTE_POST = ("seized_kg_route_post",)   # flattened [route, post]
ROUTE, POST = {n: i for i, n in enumerate(BY_ROUTE)}, {n: i for i, n in enumerate(BY_POST)}


def flows(ring: dict[str, int], rows: dict[str, int]) -> np.ndarray:
    """(ring row, values row) pairs, int64 (n, 2), for `schedule`: the row of the
    consignments' values each named ring receives (the chemical ring has one row: 0)."""
    return np.array([(ring.get(name, 0), row) for name, row in rows.items()],
                    np.int64).reshape(-1, 2)


# what each dispatch adds where: ring name -> the row of the consignments' values (precursor:
# precursor kg, its fentanyl yield, finished-substance kg, kg; `sim.kernels.trade.precursor_week`)
PRECURSOR_FLOWS = tuple(flows(ring, rows) for ring, rows in (
    (ROUTE, {"precursor_delivered_kg": 0, "precursor_delivered_fe": 1,
             "finished_delivered_kg": 2}),
    (ROUTE, {"precursor_seized_fe": 1, "precursor_seized_kg_route": 0,
             "finished_seized_kg_route": 2}),
    (POST, {"precursor_seized_kg": 0, "finished_seized_kg": 2}),
    ({"seized_kg_by_chemical": 0}, {"seized_kg_by_chemical": 3})))
FENTANYL_FLOWS = tuple(flows(ring, rows) for ring, rows in (
    (ROUTE, {"fentanyl_delivered_kg": 0}), (ROUTE, {"fentanyl_seized_kg_route": 0}),
    (POST, {"fentanyl_seized_kg": 0}), ({}, {})))


class WeekOutcome:
    """What resolves in one week (kg): `by_route[kind, route]` (kinds in BY_ROUTE order),
    `by_post[kind, post]` (BY_POST order), `seized_kg_by_chemical[chemical]` and
    `seized_kg_route_post[route x posts + post]`; each kind of `by_route` and `by_post` is also
    read by its name, as a row (`out.fentanyl_delivered_kg[route]`)."""

    __slots__ = ("by_route", "by_post", "seized_kg_by_chemical", "seized_kg_route_post")

    def __init__(self, by_route: np.ndarray, by_post: np.ndarray, by_chemical: np.ndarray,
                 route_post: np.ndarray):
        self.by_route, self.by_post = by_route, by_post
        self.seized_kg_by_chemical, self.seized_kg_route_post = by_chemical, route_post

    def __getattr__(self, name: str) -> np.ndarray:
        """A kind's row by its name (called only for names that are not attributes)."""
        if name in ROUTE:
            return self.by_route[ROUTE[name]]
        if name in POST:
            return self.by_post[POST[name]]
        raise AttributeError(f"WeekOutcome has no {name!r}")


class Pipeline:
    """Ring buffer of `WeekOutcome`s, `weeks` long (longer than any route's transit): one array
    per kind of index (by_route[kind, week slot, route], by_post[kind, slot, post],
    by_chemical[slot, chemical], route_post[slot, route x posts + post]); `ring[name]` is each
    kind's [slot, ...] view. Each week the week's slot is taken and zeroed
    (`sim.kernels.shipments.take_slot`, in `sim.trade.receive`)."""

    def __init__(self, weeks: int, n_routes: int, n_posts: int, n_chemicals: int):
        self.weeks, self.n_posts = weeks, n_posts
        self.by_route = np.zeros((len(BY_ROUTE), weeks, n_routes))
        self.by_post = np.zeros((len(BY_POST), weeks, n_posts))
        self.by_chemical = np.zeros((weeks, n_chemicals))
        self.route_post = np.zeros((weeks, n_routes * n_posts))
        self.ring = {**{name: self.by_route[i] for i, name in enumerate(BY_ROUTE)},
                     **{name: self.by_post[i] for i, name in enumerate(BY_POST)},
                     BY_CHEMICAL[0]: self.by_chemical, BY_ROUTE_POST[0]: self.route_post}

    def rings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(by_route, by_post, by_chemical, route_post), as `schedule` takes them."""
        return self.by_route, self.by_post, self.by_chemical, self.route_post
