"""Customs and border agencies and their inspection posts.

Posts are a structure of arrays (`Posts`, every agency's posts in world-file order): traffic,
inspections (moved by the agencies' learning), detection, intel, this week's illicit shipments
and seizure probability. Agencies are Mesa agents (`CustomsAgency`), each owning some posts.
Weekly rules: `CustomsAgency.step` (each post's chance of seizing a controlled consignment) and
`CustomsAgency.learn` (move inspections toward the posts that seize the most).
Parameters: `PARAMS` (group `customs`). Columns: `inspection_share_<post>` (`columns`).
"""

from __future__ import annotations

import numpy as np
from mesa.discrete_space import FixedAgent

from sim.actors.regulators import enforcement
from sim.countries import COUNTRIES
from sim.parameter import ASSUMPTION, NARCOLOGIC, Param

PARAMS: dict[str, Param] = {
    "capacity_multiplier": Param(1.0, "x every post's inspections", "lever (1 = status quo)",
                                 0.0, 100.0),
    "learning_rate": Param(0.2, "1/week", "assumption after " + NARCOLOGIC + ": interdiction "
                           "learning rate 0.6 a month", 0.0, 1.0),
    "max_shift_per_week": Param(0.05, "share of an agency's inspections", ASSUMPTION,
                                0.0, 1.0),
    "evidence_kg_per_week": Param(1.0, "kg of seizure evidence a week at which an agency "
                                  "weighs its yield estimates and its base split equally",
                                  ASSUMPTION, 0.001, 1e9),
    "min_post_share": Param(0.3, "share of a post's base share it always keeps",
                            "assumption: legal duties keep every post staffed", 0.0, 1.0),
    "partner_intel_weight": Param(0.5, "weight of partners' seizures in the update",
                                  "assumption; used while a taskforce or coalition shares "
                                  "intelligence", 0.0, 10.0),
    "targeting_gain": Param(20.0, "hit-rate multiplier at intel 1", "assumption: risk targeting "
                            "and scanning make an examination ~10x likelier to hit", 0.0, 1000.0),
}


class Posts:
    """Every customs post, one entry per post in world-file order (agencies in turn).

    Units: traffic (consignments/week, legal), inspections (inspections/week, the agency's
    learned split of its pool; `base_inspections` the world file's), detection (0-1 chance an
    inspected illicit consignment is found), intel (0-1), illicit_count (illicit consignments
    and loads through the post this week), seize_prob (0-1 per consignment this week),
    yield_kg (expected kg seized per inspection)."""

    def __init__(self, world: dict):
        pairs = [(agency, post) for agency in world["customs_agencies"] for post in agency["posts"]]
        self.names = [post["name"] for _, post in pairs]
        self.country = np.array([COUNTRIES.index(a["country"]) for a, _ in pairs])
        self.traffic = np.array([p["traffic_per_week"] for _, p in pairs], float)
        self.base_inspections = np.array([p["inspections_per_week"] for _, p in pairs], float)
        self.inspections = self.base_inspections.copy()
        self.yield_kg = np.zeros(len(pairs))
        self.detection = np.array([p["detection_prob"] for _, p in pairs], float)
        self.intel = np.array([p["intel"] for _, p in pairs], float)
        self.illicit_count = np.zeros(len(pairs))
        self.seize_prob = np.zeros(len(pairs))
        self.agency_posts = [np.array([i for i, (a, _) in enumerate(pairs) if a is agency])
                             for agency in world["customs_agencies"]]
        self.agency_of = np.zeros(len(pairs), np.int64)
        for a, posts in enumerate(self.agency_posts):
            self.agency_of[posts] = a

    def __len__(self) -> int:
        return len(self.names)

    def add_inspections(self, posts: list[int], inspections: np.ndarray) -> None:
        """Add (or, negative, remove) inspections at posts of an agency's pool. A removal takes
        what is still at the post, and the rest from the agency's other posts in proportion
        (its learning may have moved them)."""
        for post, extra in zip(posts, inspections, strict=True):
            if extra >= 0:
                self.inspections[post] += extra
                continue
            here = min(-extra, self.inspections[post])
            self.inspections[post] -= here
            pool_posts = self.agency_posts[self.agency_of[post]]
            others = pool_posts[pool_posts != post]
            pool = self.inspections[others].sum()
            if pool > 0:
                self.inspections[others] *= max(0.0, 1 - (-extra - here) / pool)

    def count_shipments(self, routes, route: np.ndarray, add: bool = False) -> None:
        """Illicit consignments through each post this week: those on `route` (route ids), from
        zero or (add) on top of those already counted."""
        counts = np.bincount(routes.posts[route_post_positions(routes, route)],
                             minlength=len(self))
        self.illicit_count = self.illicit_count + counts if add else counts.astype(float)


class CustomsAgency(FixedAgent):
    """A customs or border agency with inspection posts on the network.

    Chance a controlled consignment is seized at a post = t + s x (1 - t), with t =
    detection_prob x min(1, inspections / traffic x (1 + targeting_gain x intel)) from
    targeted inspections (it falls as traffic grows against fixed capacity and rises with
    targeting intelligence) and s = detection_prob x the share of traffic scanned (scanners,
    `scanning` policies). China's, India's and Mexico's effort follow their
    country's enforcement relative to its level at the start of the run.

    The agency splits its inspections across its posts by expected yield (kg seized per
    inspection), learned from its own seizures and, through a taskforce, from what partners
    caught on the routes through each post; a limited share of capacity moves each week.
    """

    def __init__(self, model, spec: dict, cell, posts: np.ndarray):
        super().__init__(model)
        self.name, self.country, self.cell = spec["name"], spec["country"], cell
        self.posts = posts
        self.evidence_kg = 0.0   # recent kg of seizure evidence a week (own and shared)
        self.enforcement_at_start = enforcement(model, self.country)

    def effort(self) -> float:
        """Inspection effort: the country's enforcement relative to its level at the start of
        the run (1 where the country has no enforcement level, as for the US, whose posts'
        figures are taken as they are, or where it started at 0)."""
        now = enforcement(self.model, self.country)
        if now is None or not self.enforcement_at_start:
            return 1.0
        return now / self.enforcement_at_start

    def step(self) -> None:
        """This week's seizure probability at each of the agency's posts."""
        model, posts = self.model, self.posts
        levers, state = model.levers, model.posts
        p = model.params["customs"]
        inspections = ((state.inspections[posts] * levers.post_inspections_multiplier[posts]
                        + levers.post_pinned_inspections[posts])
                       * self.effort() * p["capacity_multiplier"])
        traffic = state.traffic[posts] + state.illicit_count[posts]
        intel = np.clip(state.intel[posts] + levers.post_intel_bonus[posts], 0.0, 1.0)
        gain = p["targeting_gain"]
        targeted = state.detection[posts] * np.minimum(
            1.0, inspections / np.maximum(traffic, 1.0) * (1.0 + gain * intel))
        scanned = state.detection[posts] * levers.post_scan_share[posts]
        state.seize_prob[posts] = targeted + scanned * (1.0 - targeted)

    def learn(self, own_kg: np.ndarray, partner_kg: np.ndarray) -> None:
        """Update expected yields (learning_rate) from kg seized at each post (own_kg, plus
        partner_kg x the taskforce sharing weight), then move inspections toward a target split:
        the yield-proportional split weighted by confidence E / (E + evidence_kg_per_week), the
        base split by the rest (E: the recent kg of evidence a week, so more intelligence means
        bolder moves and no evidence means a return to the base split). Each post keeps at least
        min_post_share of its base share; at most max_shift_per_week of the agency's
        inspections change post in a week."""
        model, posts = self.model, self.posts
        state, p = model.posts, model.params["customs"]
        if p["learning_rate"] <= 0 or posts.size < 2:
            return
        inspections = state.inspections[posts]
        total = inspections.sum()
        if total <= 0:
            return
        weight = model.levers.intel_sharing_weight[COUNTRIES.index(self.country)]
        observed = (own_kg + weight * partner_kg) / np.maximum(inspections, 1.0)
        expected = state.yield_kg[posts]
        expected += p["learning_rate"] * (observed - expected)
        state.yield_kg[posts] = expected
        evidence = float((own_kg + weight * partner_kg).sum())
        self.evidence_kg += p["learning_rate"] * (evidence - self.evidence_kg)
        scale = self.evidence_kg + p["evidence_kg_per_week"]
        confidence = self.evidence_kg / scale if scale > 0 else 0.0
        base = state.base_inspections[posts]
        base = base / base.sum() if base.sum() > 0 else np.full(posts.size, 1.0 / posts.size)
        share = expected / expected.sum() if expected.sum() > 0 else base
        target = np.maximum(p["min_post_share"] * base,
                            confidence * share + (1 - confidence) * base)
        wanted = target / target.sum() * total - inspections
        moving = np.abs(wanted).sum() / 2          # inspections that would change post
        if moving > 0:
            limit = p["max_shift_per_week"] * total
            state.inspections[posts] = inspections + wanted * min(1.0, limit / moving)


def route_post_positions(routes, route: np.ndarray) -> np.ndarray:
    """Indices into routes.posts of every post on every listed route."""
    if route.size == 0:
        return np.empty(0, np.int64)
    starts, ends = routes.post_ptr[route], routes.post_ptr[route + 1]
    lengths = ends - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


def agencies(model) -> list[CustomsAgency]:
    """The agencies, from Mesa's registry, in the world file's order."""
    return list(model.agents_by_type.get(CustomsAgency, ()))


def customs_week(model, week) -> None:
    """Phase: each agency sets this week's seizure probability at its posts."""
    for agency in agencies(model):
        agency.step()


def customs_adapt(model, week) -> None:
    """Phase: agencies learn from this week's seizures: their own at each post and, when they
    share intelligence, what partner countries' posts caught on the routes through each post."""
    out, network = week.outcome, model.network
    own = out.precursor_seized_kg + out.finished_seized_kg + out.fentanyl_seized_kg
    by_route_post = out.seized_kg_route_post.reshape(len(network.routes.names), -1)
    sharing = model.levers.intel_sharing_weight[model.posts.country] > 0
    for agency in agencies(model):
        partners = sharing.copy()
        partners[agency.posts] = False
        partner_by_route = by_route_post[:, partners].sum(axis=1)
        partner = partner_by_route @ network.route_passes_post[:, agency.posts]
        agency.learn(own[agency.posts], partner)


def columns(posts: Posts) -> dict[str, tuple[str, str]]:
    """The customs columns: each post's share of its agency's inspections."""
    return {f"inspection_share_{name}": ("share of its agency's inspections", "mean")
            for name in posts.names}


def observe(model) -> dict[str, float]:
    """This week's customs columns."""
    posts, row = model.posts, {}
    for agency in agencies(model):
        inspections = posts.inspections[agency.posts]
        for post, value in zip(agency.posts, inspections / max(inspections.sum(), 1e-12),
                               strict=True):
            row[f"inspection_share_{posts.names[post]}"] = value
    return row
