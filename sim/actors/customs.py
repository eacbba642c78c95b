"""Customs and border agencies and their inspection posts.

Posts are a structure of arrays (`Posts`, every agency's posts in world-file order): traffic,
inspections (moved by the agencies' learning), detection, intel, this week's illicit shipments
and seizure probability. Agencies are Mesa agents (`CustomsAgency`), each owning some posts.
Weekly rules, for every post at once: `Posts.seizure_probability` (each post's chance of seizing
a controlled consignment, with each agency's `CustomsAgency.effort`) and `Posts.learn` (each
agency moves inspections toward its posts that seize the most): `sim.kernels.customs`.
Parameters: `PARAMS` (group `customs`). Columns: `inspection_share_<post>` (`columns`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from mesa.discrete_space import FixedAgent

from sim.actors import per_model, registered
from sim.actors.regulators import ENFORCEMENT_MOVES, enforcement
from sim.countries import CHINA, COUNTRIES, INDIA
from sim.kernels.customs import agency_shares, learn, partner_route_kg, seizure_probability
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


# groups of posts whose seizures the trade's columns count: US posts, Mexican posts, the origin
# countries' (China, India)
US_POSTS, MEXICO_POSTS, ORIGIN_POSTS = range(3)


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
        # each agency's posts are a range: agency_ptr[a]:agency_ptr[a + 1]
        self.agency_ptr = np.r_[0, np.cumsum([p.size for p in self.agency_posts])].astype(np.int64)
        self.agency_country = self.country[self.agency_ptr[:-1]]   # each agency's country
        self.evidence_kg = np.zeros(len(self.agency_posts))   # per agency, see `learn`
        self.no_partner_kg = np.zeros(len(pairs))   # partners' seizures while no one shares
        # the seizure columns a post's seizures count in (`sim.trade.observe`; -1: none)
        groups = {COUNTRIES.index("us"): US_POSTS, COUNTRIES.index("mexico"): MEXICO_POSTS,
                  CHINA: ORIGIN_POSTS, INDIA: ORIGIN_POSTS}
        self.seizure_group = np.array([groups.get(c, -1) for c in self.country], np.int64)

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

    def seizure_probability(self, levers, effort: np.ndarray,
                            gains: tuple[float, float]) -> None:
        """This week's seizure probability at every post (`CustomsAgency` explains the rule),
        with each agency's effort (per agency) and the `customs` group's capacity_multiplier
        and targeting_gain (`gains`)."""
        seizure_probability(self.seize_prob, self.inspections, levers.post_inspections_multiplier,
                            levers.post_pinned_inspections, effort, self.agency_of, self.traffic,
                            self.illicit_count, self.intel, levers.post_intel_bonus,
                            self.detection, levers.post_scan_share, *gains)

    def learn(self, seized_kg: np.ndarray, partner_kg: np.ndarray, sharing_weight: np.ndarray,
              rule: tuple[float, float, float, float]) -> None:
        """Every agency learns from the week's seizures at its posts (seized_kg[kind, post]) and,
        weighted by its sharing_weight, partners' (partner_kg per post), by the `customs`
        group's `learning_rule`; see `CustomsAgency`."""
        learn(self.inspections, self.yield_kg, self.evidence_kg, self.base_inspections,
              self.agency_ptr, seized_kg, partner_kg, sharing_weight, *rule)


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

    def __init__(self, model, spec: dict, cell, posts: np.ndarray, index: int):
        super().__init__(model)
        self.name, self.country, self.cell = spec["name"], spec["country"], cell
        self.posts, self.index = posts, index   # index: its place in the world file
        # route_passes[route, j]: 1 where the route passes its j-th post
        self.route_passes = model.network.route_passes_post[:, posts]
        self.enforcement_at_start = enforcement(model, self.country)

    @property
    def evidence_kg(self) -> float:
        """Recent kg of seizure evidence a week (own and shared), as it learns (`Posts.learn`)."""
        return float(self.model.posts.evidence_kg[self.index])

    def effort(self) -> float:
        """Inspection effort: the country's enforcement relative to its level at the start of
        the run (1 where the country has no enforcement level, as for the US, whose posts'
        figures are taken as they are, or where it started at 0)."""
        now = enforcement(self.model, self.country)
        if now is None or not self.enforcement_at_start:
            return 1.0
        return now / self.enforcement_at_start


def learning_rule(params: dict) -> tuple[float, float, float, float]:
    """The `customs` group's learning rate, evidence kg a week, minimum post share and largest
    shift a week, as `sim.kernels.customs.learn` takes them."""
    return (float(params["learning_rate"]), float(params["evidence_kg_per_week"]),
            float(params["min_post_share"]), float(params["max_shift_per_week"]))


class Sharing(NamedTuple):
    """Who shares intelligence under one week's levers (`sharing_weights`)."""

    levers: object             # the `Levers` it was read from
    weight: np.ndarray         # per agency: weight of its partners' seizures (0: none)
    shared: bool               # whether some agency shares
    posts: np.ndarray          # per post: whether its agency shares
    by_agency: list[float]     # `weight` as a list


def partner_seizures_kg(model, out, sharing: Sharing) -> np.ndarray:
    """Per post: kg that partner countries' posts seized this week on the routes through it, for
    the posts of agencies that share intelligence (0 elsewhere). A partner is a post of another
    agency that shares."""
    posts = model.posts
    partner = np.zeros(len(posts))
    by_route_post = out.seized_kg_route_post.reshape(len(model.network.routes.names), -1)
    route_kg = partner_route_kg(by_route_post, sharing.posts, posts.agency_of, posts.agency_ptr)
    for index, first, end, route_passes in _adapt_arguments(model)[0]:
        if sharing.by_agency[index] > 0:
            partner[first:end] = route_kg[index] @ route_passes
    return partner


def agencies(model) -> list[CustomsAgency]:
    """The agencies, from Mesa's registry, in the world file's order."""
    return registered(model, CustomsAgency)


def customs_week(model, week) -> None:
    """Phase: each post's seizure probability this week."""
    effort, moving, gains = _efforts(model)
    for i, agency in moving:
        effort[i] = agency.effort()
    model.posts.seizure_probability(model.levers, effort, gains)


def _efforts(model) -> tuple[np.ndarray, list[tuple[int, CustomsAgency]], tuple[float, float]]:
    """Each agency's effort (the model's array, refilled each week), the agencies whose
    effort moves during a run (their country's `enforcement` does, `ENFORCEMENT_MOVES`) and
    the `customs` group's capacity_multiplier and targeting_gain (read-only); made once per
    model."""
    def build():
        every, p = agencies(model), model.params["customs"]
        return (np.array([a.effort() for a in every]),
                [(i, a) for i, a in enumerate(every) if a.country in ENFORCEMENT_MOVES],
                (float(p["capacity_multiplier"]), float(p["targeting_gain"])))

    return per_model(model, "_customs_efforts", build)


def _adapt_arguments(model) -> tuple[list[tuple[int, int, int, np.ndarray]], tuple]:
    """What `customs_adapt` reads that stays the same all run, made once per model: each
    agency's (index, its posts as the range first:end of `Posts`, route_passes) in the world
    file's order, and the `learning_rule` (the parameters are read-only)."""
    def build():
        ptr = model.posts.agency_ptr.tolist()   # agency a's posts: ptr[a]:ptr[a + 1] (`Posts`)
        return ([(a.index, ptr[a.index], ptr[a.index + 1], a.route_passes)
                 for a in agencies(model)], learning_rule(model.params["customs"]))

    return per_model(model, "_customs_adapt_arguments", build)


def sharing_weights(model) -> Sharing:
    """Each agency's weight of its partners' seizures, from its country's in the week's levers,
    and what follows from it; kept while the levers are the same object (they change only when
    the active policies do: `sim.policies.base.policies_week`)."""
    kept = model.__dict__.get("_customs_sharing")
    if kept is None or kept.levers is not model.levers:
        posts = model.posts
        weight = model.levers.intel_sharing_weight[posts.agency_country]
        kept = model.__dict__["_customs_sharing"] = Sharing(
            model.levers, weight, bool((weight > 0).any()), weight[posts.agency_of] > 0,
            weight.tolist())
    return kept


def customs_adapt(model, week) -> None:
    """Phase: agencies learn from this week's seizures: their own at each post and, when they
    share intelligence, what partner countries' posts caught on the routes through each post
    (`Posts.learn`)."""
    out, posts, sharing = week.outcome, model.posts, sharing_weights(model)
    # partners' seizures only count while some agency shares (every agency has a post)
    partner = partner_seizures_kg(model, out, sharing) if sharing.shared else posts.no_partner_kg
    posts.learn(out.by_post, partner, sharing.weight, _adapt_arguments(model)[1])


def columns(posts: Posts) -> dict[str, tuple[str, str]]:
    """The customs columns: each post's share of its agency's inspections."""
    return {f"inspection_share_{name}": ("share of its agency's inspections", "mean")
            for name in posts.names}


def observe(model) -> dict[str, np.ndarray]:
    """This week's customs columns: every post's share of its agency's inspections."""
    posts = model.posts
    return {"inspection_share_": agency_shares(posts.inspections, posts.agency_ptr)}
