"""Law enforcement levers: multilateral taskforces, customs surges, online platform takedowns,
Mexico's enforcement and US arms control."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.countries import COUNTRIES
from sim.policies.base import Levers, Policy, register, spec

MEMBER_COUNTRIES = ("china", "india", "mexico", "us")


def _posts(world: dict, countries=None, agencies=None) -> list[str]:
    """Names of the world's customs posts run by agencies of `countries` or named `agencies`."""
    return [post["name"] for agency in world["customs_agencies"] for post in agency["posts"]
            if (countries is not None and agency["country"] in countries)
            or (agencies is not None and agency["name"] in agencies)]


def _check_posts(names: list[str], world: dict):
    """(key, message) when a policy names no customs post or one the world does not have."""
    valid = _posts(world, countries=[a["country"] for a in world["customs_agencies"]])
    unknown = [p for p in names if p not in valid]
    if unknown or not names:
        return "posts", (f"unknown post '{unknown[0]}'. valid posts: {', '.join(valid)}."
                         if unknown else "give at least one customs post")
    return None


def _post_mask(model, names) -> np.ndarray:
    """The posts' indices (an index array, kept for the weekly `modify`)."""
    return np.array([model.posts.names.index(n) for n in names], np.intp)


@register("taskforce")
@dataclass
class Taskforce(Policy):
    """A multilateral taskforce on the "Taskforce Blaze" model (AFP with China's narcotics
    commission from 2015): member agencies share intelligence and run joint operations.

    Changes: intel at member countries' customs posts rises by `intel_sharing` (better
    targeting) and members' agencies learn where to inspect also from what partners caught
    (customs.partner_intel_weight); raids on makers of controlled chemicals in member countries
    are multiplied by
    `joint_raid_multiplier`, and joint operations raid makers known to supply cartels there
    (controlled chemical or not) at `supplier_raid_rate`; cartels' supplier links to makers in
    member countries are cut with weekly probability `link_cut_prob`.
    """

    story = ("members share intelligence and raid makers and cartels' supplier links together")

    members: list[str] = spec(["china", "us", "mexico"], choices=MEMBER_COUNTRIES,
                              doc="countries in the taskforce")
    intel_sharing: float = spec(0.3, low=0.0, high=1.0, unit="intel (0-1) added",
                                doc="assumption")
    joint_raid_multiplier: float = spec(2.0, low=1.0, high=20.0, unit="x maker raid rate",
                                        doc="assumption")
    link_cut_prob: float = spec(0.02, low=0.0, high=1.0, unit="1/week per supplier link",
                                doc="assumption")
    supplier_raid_rate: float = spec(0.01, low=0.0, high=1.0, unit="1/week per supplying maker",
                                     doc="assumption")
    order = 3

    def validate(self, world):
        if not self.members:
            return "members", "a taskforce needs at least one member country"
        return None

    def setup(self, model) -> None:
        self._posts = _post_mask(model, _posts(model.scenario.world, countries=self.members))
        self._countries = [COUNTRIES.index(c) for c in self.members]

    def modify(self, levers: Levers, model) -> None:
        levers.post_intel_bonus[self._posts] += self.intel_sharing
        sharing = model.params["customs"]["partner_intel_weight"]
        for c in self._countries:
            levers.intel_sharing_weight[c] = max(levers.intel_sharing_weight[c], sharing)
            levers.maker_raid_multiplier[c] *= self.joint_raid_multiplier
            levers.link_cut_prob[c] = 1 - (1 - levers.link_cut_prob[c]) * (1 - self.link_cut_prob)
            levers.supplier_raid_rate[c] = 1 - (1 - levers.supplier_raid_rate[c]) * (
                1 - self.supplier_raid_rate)


@register("global_coalition")
@dataclass
class GlobalCoalition(Taskforce):
    """The Global Coalition to Address Synthetic Drug Threats (July 2023, over 80 countries at
    launch; China is not a member). Changes the same rules as `taskforce` (intel at member
    posts, raids and supplier-link cuts in member countries), with China excluded."""

    story = ("members share intelligence and raid suppliers, without China")

    members: list[str] = spec(["us", "mexico", "india"], choices=("india", "mexico", "us"),
                              doc="member countries (China is not a member)")
    intel_sharing: float = spec(0.1, low=0.0, high=1.0, unit="intel (0-1) added",
                                doc="assumption: broad and looser than a taskforce")
    joint_raid_multiplier: float = spec(1.5, low=1.0, high=20.0, unit="x maker raid rate",
                                        doc="assumption")
    link_cut_prob: float = spec(0.01, low=0.0, high=1.0, unit="1/week per supplier link",
                                doc="assumption")
    supplier_raid_rate: float = spec(0.005, low=0.0, high=1.0,
                                     unit="1/week per supplying maker", doc="assumption")


@register("customs_surge")
@dataclass
class CustomsSurge(Policy):
    """More inspection capacity at chosen customs posts (e.g. the US ports of entry of the
    southwest, or the mail and express facilities). Changes those posts' intel
    (+ `intel_bonus`) and adds inspections there (base x (`inspections_multiplier` - 1)).
    Unless `pinned`, the added inspections join the agency's pool: they start at the chosen
    posts and the agency's learning may move them; pinned, they stay."""

    story = ("more inspections at these posts; the agencies may move them as they learn where "
             "loads are")

    posts: list[str] = spec(["san_diego", "nogales"], doc="customs post names from the network")
    inspections_multiplier: float = spec(2.0, low=1.0, high=100.0, unit="x base inspections",
                                         doc="lever")
    intel_bonus: float = spec(0.0, low=0.0, high=1.0, unit="intel (0-1) added", doc="lever")
    pinned: bool = spec(False, doc="keep the added inspections at these posts")

    def validate(self, world):
        return _check_posts(self.posts, world)

    def setup(self, model) -> None:
        self._posts = _post_mask(model, self.posts)

    def _extra(self, model):
        return model.posts.base_inspections[self._posts] * (self.inspections_multiplier - 1)

    def on_start(self, model) -> None:
        if not self.pinned:
            model.posts.add_inspections(self._posts, self._extra(model))

    def on_end(self, model) -> None:
        if not self.pinned:
            model.posts.add_inspections(self._posts, -self._extra(model))

    def modify(self, levers: Levers, model) -> None:
        if self.pinned:
            levers.post_pinned_inspections[self._posts] += self._extra(model)
        levers.post_intel_bonus[self._posts] += self.intel_bonus


@register("scanning")
@dataclass
class Scanning(Policy):
    """Non-intrusive inspection (large-scale X-ray and gamma-ray scanners) at chosen customs
    posts: a share of all traffic is scanned, whatever the targeting. Changes those posts'
    seizure chance: a load is also found with probability `scanned_share` x the post's
    detection probability, on top of the targeted inspections. Where entries overlap the
    larger share counts (give each period its own start and end)."""

    story = ("scanners at these crossings look inside a share of all vehicles, so loads hidden "
             "in them are found more often")

    posts: list[str] = spec(["san_diego", "nogales", "el_paso", "laredo"],
                            doc="customs post names from the network")
    scanned_share: float = spec(0.02, low=0.0, high=1.0, unit="share of traffic scanned",
                                doc="lever; CBP's figures by year in the baseline "
                                "(data/observed/cbp_nii_scanning.csv)")

    def validate(self, world):
        return _check_posts(self.posts, world)

    def setup(self, model) -> None:
        self._posts = _post_mask(model, self.posts)

    def modify(self, levers: Levers, model) -> None:
        levers.post_scan_share[self._posts] = np.maximum(levers.post_scan_share[self._posts],
                                                         self.scanned_share)


@register("platform_enforcement")
@dataclass
class PlatformEnforcement(Policy):
    """Takedowns of online marketplace sellers. Changes: each active online seller's listing is
    taken down with weekly probability `takedown_rate` (it can then be found only through
    brokers), raids on online sellers are multiplied by `raid_multiplier`, and cartels' supplier
    search is slowed by `search_reduction`."""

    story = ("online marketplaces take listings down, so cartels find suppliers more slowly")

    takedown_rate: float = spec(0.05, low=0.0, high=1.0, unit="1/week", doc="assumption")
    raid_multiplier: float = spec(1.5, low=1.0, high=20.0, unit="x raids on online sellers",
                                  doc="assumption")
    search_reduction: float = spec(0.5, low=0.0, high=1.0, unit="share of search rate lost",
                                   doc="assumption")

    def modify(self, levers: Levers, model) -> None:
        levers.online_delist_hazard = 1 - (1 - levers.online_delist_hazard) * (
            1 - self.takedown_rate)
        levers.online_raid_multiplier *= self.raid_multiplier
        levers.supplier_search_multiplier *= 1 - self.search_reduction


@register("mexico_enforcement")
@dataclass
class MexicoEnforcement(Policy):
    """Mexico brought in (absent from the US-China talks, seed article 000). Changes: Mexican
    customs inspect precursor imports at the Pacific ports and air cargo more
    (x `port_inspections_multiplier`, + `port_intel_bonus`), and lab raid attempts rise
    (x `lab_raid_multiplier`)."""

    story = ("Mexico inspects more precursor imports and raids more labs")

    port_inspections_multiplier: float = spec(3.0, low=0.0, high=100.0, unit="x inspections",
                                              doc="assumption")
    port_intel_bonus: float = spec(0.2, low=0.0, high=1.0, unit="intel (0-1) added",
                                   doc="assumption")
    lab_raid_multiplier: float = spec(2.0, low=0.0, high=100.0, unit="x lab raid attempts",
                                      doc="assumption")

    def setup(self, model) -> None:
        self._posts = _post_mask(model, _posts(model.scenario.world,
                                               agencies=["mexico_customs"]))

    def modify(self, levers: Levers, model) -> None:
        levers.post_inspections_multiplier[self._posts] *= self.port_inspections_multiplier
        levers.post_intel_bonus[self._posts] += self.port_intel_bonus
        levers.lab_raid_multiplier *= self.lab_raid_multiplier


@register("arms_control")
@dataclass
class ArmsControl(Policy):
    """The US curbs guns flowing south (about 200,000 a year, GAO-21-322). Changes the gun
    inflow that feeds cartels' armed strength (x 1 - `reduction`); strength then decays, so
    Mexican lab raids succeed more often."""

    story = ("fewer US guns reach the cartels, so more Mexican lab raids succeed")

    reduction: float = spec(0.5, low=0.0, high=1.0, unit="share of the gun flow stopped",
                            doc="lever")

    def modify(self, levers: Levers, model) -> None:
        levers.guns_south_per_year *= 1 - self.reduction
