"""The strategic actors as Mesa agents: cartels, customs agencies and regulators.

Each holds a handful of numbers and follows the rules in its methods; the model calls the
methods phase by phase (see `FentanylModel.step`). Randomness comes from the counter-based
streams in `sim.kernels.rng`, keyed on the agent, so decisions do not depend on call order.
"""

from __future__ import annotations

import math

import numpy as np
from mesa.discrete_space import FixedAgent

from sim.kernels import rng
from sim.params import TABLE
from sim.populations import CHINA, COUNTRIES, INDIA, MEXICO, UN

KEY_SPAN = 1 << 20
_REG = {k: p.value for k, p in TABLE["regulators"].items()}
REFERENCE_ENFORCEMENT = {
    "china": _REG["china_enforcement_min"] + _REG["china_cooperation_initial"] * (
        _REG["china_enforcement_max"] - _REG["china_enforcement_min"]),
    "india": _REG["india_enforcement"],
    "mexico": TABLE["cartels"]["mexico_enforcement"].value,
}


class Cartel(FixedAgent):
    """A trafficking organisation (Sinaloa, CJNG, ...) or, with no lab region, US buyers who
    order finished fentanyl-related substances by mail.

    Stocks are in kg of pure fentanyl or its equivalent: precursor_stock_kg counts what the
    precursor on hand will yield.
    """

    def __init__(self, model, spec: dict, index: int, cell, entry_routes: np.ndarray,
                 target_kg_per_week: float):
        super().__init__(model)
        p = model.params["cartels"]
        self.name, self.index, self.cell = spec["name"], index, cell
        self.in_us = not spec.get("lab_region")
        self.labs = int(spec["labs"])
        self.armed_share = float(spec["armed_share"])
        self.armed_strength = self.equilibrium_strength(model.params["cartels"][
            "guns_south_per_year"])
        self.target_kg_per_week = target_kg_per_week
        self.supply_ema_kg = target_kg_per_week
        self.fentanyl_stock_kg = 0.0 if self.in_us else target_kg_per_week * p["stock_cover_weeks"]
        self.precursor_stock_kg = self.fentanyl_stock_kg
        self.links = np.empty(0, np.int64)
        self.entry_routes = entry_routes
        available = entry_routes >= 0
        self.route_loss = np.where(available, p["route_loss_prior"], np.nan)
        self.route_split = np.where(available, 1.0 / max(1, available.sum()), 0.0)
        self.made_kg = self.delivered_kg = self.revenue_usd = 0.0
        self.labs_raided = self.raids_attempted = 0

    # --- suppliers and orders ------------------------------------------------------------
    def usable(self, makers, slots: np.ndarray) -> np.ndarray:
        """Which maker slots this buyer can use: active, with a route to it, and selling finished
        product if the buyer has no lab."""
        ok = (makers.active[slots] == 1) & (
            self.model.precursor_route[makers.region[slots], makers.mode[slots], self.index] >= 0)
        if self.in_us:
            ok &= self.model.chemicals.finished[makers.chemical[slots]]
        return ok

    def orders(self, in_transit_kg: float) -> tuple[np.ndarray, np.ndarray]:
        """Precursor orders (maker slots, kg of their chemical) for expected needs: enough to
        keep `stock_cover_weeks` of target sales on hand after the longest transit, counting
        what is on its way (in_transit_kg, fentanyl-equivalent)."""
        model, p = self.model, self.model.params["cartels"]
        self.links = self.links[self.usable(model.makers, self.links)]
        if self.links.size == 0:
            return self.links, np.empty(0)
        # labs hold stock_cover_weeks of stock; US buyers hold none (they sell on at once)
        lead_weeks = self.transit_weeks + (1 if self.in_us else p["stock_cover_weeks"])
        position = self.precursor_stock_kg + in_transit_kg + self.fentanyl_stock_kg
        wanted = min(max(0.0, self.target_kg_per_week * lead_weeks - position),
                     p["order_cap_weeks"] * self.target_kg_per_week)
        capacity = model.maker_capacity_kg[self.links]
        if wanted <= 0 or capacity.sum() <= 0:
            return self.links, np.zeros(self.links.size)
        yields = model.chemicals.yield_kg_per_kg[model.makers.chemical[self.links]]
        return self.links, wanted * capacity / capacity.sum() / yields

    def after_orders(self, makers: np.ndarray, refused: np.ndarray, seized: np.ndarray) -> None:
        """Drop suppliers who refused; lose a supplier whose shipment was seized with
        probability `link_loss_on_seizure`."""
        model = self.model
        u = rng.draws(model.seed, rng.LINK_LOSS, model.week, self.index * KEY_SPAN + makers)
        lost = (refused == 1) | (seized & (u < model.params["cartels"]["link_loss_on_seizure"]))
        self.links = np.setdiff1d(self.links, makers[lost])

    def lose_links_to_operations(self) -> None:
        """Joint law-enforcement operations cut supplier links to makers in the countries they
        cover, each with that country's weekly link_cut_prob."""
        model = self.model
        cut_prob = model.levers.link_cut_prob[model.makers.country[self.links]]
        if self.links.size == 0 or not cut_prob.any():
            return
        u = rng.draws(model.seed, rng.LINK_CUT, model.week, self.index * KEY_SPAN + self.links)
        self.links = self.links[u >= cut_prob]

    def search_suppliers(self) -> None:
        """Meet active makers: each try draws one at random from those selling; an online
        seller is taken up at once, an offline one only through a broker
        (broker_search_factor)."""
        model, p = self.model, self.model.params["cartels"]
        if self.links.size >= p["supplier_links_max"]:
            return
        rate = p["supplier_search_prob"] * model.levers.supplier_search_multiplier
        u = rng.draws(model.seed, rng.SUPPLIER_SEARCH, model.week,
                      self.index * KEY_SPAN + np.arange(2 * math.ceil(rate) + 1))
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


    # --- production and shipping -----------------------------------------------------------
    def synthesize(self) -> None:
        """Turn precursor into fentanyl, up to lab capacity and what the stock target needs."""
        p = self.model.params["cartels"]
        room = max(0.0, self.target_kg_per_week * (1 + p["stock_cover_weeks"])
                   - self.fentanyl_stock_kg)
        self.made_kg = min(self.labs * p["lab_output_kg_per_week"], self.precursor_stock_kg, room)
        self.precursor_stock_kg -= self.made_kg
        self.fentanyl_stock_kg += self.made_kg

    def lab_raids(self) -> float:
        """Mexican raids: forces attempt a raid on each lab with probability lab_raid_rate x
        enforcement (x a policy's multiplier); an attempt succeeds with probability
        1 / (1 + armed_deterrence x armed strength) and takes the lab and its share of the
        stocks. Returns kg of fentanyl seized."""
        self.labs_raided = self.raids_attempted = 0
        if self.labs == 0:
            return 0.0
        model, p = self.model, self.model.params["cartels"]
        levers = model.levers
        attempt = min(1.0, p["lab_raid_rate"] * levers.mexico_enforcement
                      * levers.lab_raid_multiplier)
        success = 1.0 / (1.0 + p["armed_deterrence"] * self.armed_strength)
        labs = self.index * KEY_SPAN + np.arange(self.labs)
        attempts = rng.draws(model.seed, rng.LAB_RAID, model.week, labs) < attempt
        wins = attempts & (rng.draws(model.seed, rng.LAB_RAID_SUCCESS, model.week, labs) < success)
        self.raids_attempted, self.labs_raided = int(attempts.sum()), int(wins.sum())
        share = self.labs_raided / self.labs
        seized = self.fentanyl_stock_kg * share
        self.fentanyl_stock_kg -= seized
        self.precursor_stock_kg *= 1 - share
        self.labs -= self.labs_raided
        return seized

    def loads(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Send this week's sales target north, split across US entry routes by expected loss
        and cost, in loads of `load_size_kg`. Returns (route ids, kg per load, item keys)."""
        model, p = self.model, self.model.params["cartels"]
        ship_kg = min(self.fentanyl_stock_kg, self.target_kg_per_week)
        available = self.entry_routes >= 0
        if self.in_us or ship_kg <= 0 or not available.any():
            return np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64)
        cost = model.routes.cost_usd_per_kg[np.maximum(self.entry_routes, 0)]
        utility = -(p["risk_aversion"] * np.nan_to_num(self.route_loss)
                    + p["route_cost_weight"] * cost / model.params["market"][
                        "wholesale_price_ref_usd_per_kg"])
        weights = np.where(available, np.exp(utility - utility[available].max()), 0.0)
        self.route_split = weights / weights.sum()
        self.fentanyl_stock_kg -= ship_kg
        kg_by_entry = ship_kg * self.route_split
        n_loads = np.where(kg_by_entry > 0, np.ceil(kg_by_entry / p["load_size_kg"]), 0)
        n_loads = n_loads.astype(np.int64)
        entry = np.repeat(np.arange(kg_by_entry.size), n_loads)
        load_kg = np.repeat(kg_by_entry / np.maximum(n_loads, 1), n_loads)
        first = np.repeat(np.cumsum(n_loads) - n_loads, n_loads)
        keys = ((self.index * kg_by_entry.size + entry) * KEY_SPAN
                + np.arange(entry.size) - first)
        return self.entry_routes[entry].astype(np.int64), load_kg, keys

    # --- adaptation ----------------------------------------------------------------------
    def learn_routes(self, seized_kg: np.ndarray, delivered_kg: np.ndarray) -> None:
        """Update the expected loss of each route from this week's outcomes (learning_rate);
        unused routes drift back toward the prior (route_forgetting_rate)."""
        p = self.model.params["cartels"]
        total = seized_kg + delivered_kg
        used = total > 0
        observed = np.divide(seized_kg, total, out=np.zeros_like(total), where=used)
        rate = np.where(used, p["learning_rate"], p["route_forgetting_rate"])
        target = np.where(used, observed, p["route_loss_prior"])
        self.route_loss = self.route_loss + rate * (target - self.route_loss)

    def plan(self, price_ratio: float) -> None:
        """Grow or shrink the sales target with the retail price premium, but not beyond twice
        what the cartel has lately managed to supply; move lab numbers toward what the target
        needs; arm with the guns that flow south."""
        model, p = self.model, self.model.params["cartels"]
        supplied = self.delivered_kg if self.in_us else self.made_kg
        self.supply_ema_kg += p["supply_memory_rate"] * (supplied - self.supply_ema_kg)
        premium = float(np.clip(price_ratio - 1.0, p["price_premium_floor"],
                                p["price_premium_ceiling"]))
        cap = max(0.01, p["target_supply_cap"] * self.supply_ema_kg)
        self.target_kg_per_week = float(np.clip(
            self.target_kg_per_week * (1.0 + p["expansion_rate"] * premium), 0.01, cap))
        if not self.in_us:
            wanted = math.ceil(p["lab_headroom"] * self.target_kg_per_week
                               / p["lab_output_kg_per_week"])
            step = p["lab_build_rate"] * (wanted - self.labs)
            self.labs += math.ceil(step) if step > 0 else math.floor(step)
        target = self.equilibrium_strength(model.levers.guns_south_per_year)
        self.armed_strength += p["armed_decay_per_week"] * (target - self.armed_strength)

    def equilibrium_strength(self, guns_south_per_year: float) -> float:
        """Armed strength the cartel settles at with this gun flow: its share of the guns, in
        units of guns_per_strength_unit a year."""
        p = self.model.params["cartels"]
        return guns_south_per_year * self.armed_share / p["guns_per_strength_unit"]


class CustomsAgency(FixedAgent):
    """A customs or border agency with inspection posts on the network.

    Chance a controlled consignment is seized at a post = detection_prob x min(1, inspections /
    traffic x (1 + targeting_gain x intel)): it falls as traffic grows against fixed capacity
    and rises with targeting intelligence. China's and Mexico's effort follow their enforcement.

    The agency splits its inspections across its posts by expected yield (kg seized per
    inspection), learned from its own seizures and, through a taskforce, from what partners
    caught on the routes through each post; a limited share of capacity moves each week.
    """

    def __init__(self, model, spec: dict, cell, posts: np.ndarray):
        super().__init__(model)
        self.name, self.country, self.cell = spec["name"], spec["country"], cell
        self.posts = posts
        self.evidence_kg = 0.0   # recent kg of seizure evidence a week (own and shared)

    def effort(self) -> float:
        """Inspection effort: the country's enforcement relative to its default (China's at the
        default initial cooperation, India's and Mexico's at their default levels); 1 for the
        US, whose posts' figures are taken as they are."""
        model = self.model
        if self.country == "china":
            return model.china_enforcement / REFERENCE_ENFORCEMENT["china"]
        if self.country == "india":
            return model.params["regulators"]["india_enforcement"] / REFERENCE_ENFORCEMENT["india"]
        if self.country == "mexico":
            return model.levers.mexico_enforcement / REFERENCE_ENFORCEMENT["mexico"]
        return 1.0

    def step(self) -> None:
        model, posts = self.model, self.posts
        levers = model.levers
        inspections = ((model.post_inspections[posts] * levers.post_inspections_multiplier[posts]
                        + levers.post_pinned_inspections[posts])
                       * self.effort() * model.params["customs"]["capacity_multiplier"])
        traffic = model.post_traffic[posts] + model.post_illicit_count[posts]
        intel = np.clip(model.post_intel[posts] + levers.post_intel_bonus[posts], 0.0, 1.0)
        gain = model.params["customs"]["targeting_gain"]
        model.seize_prob[posts] = model.post_detection[posts] * np.minimum(
            1.0, inspections / np.maximum(traffic, 1.0) * (1.0 + gain * intel))

    def learn(self, own_kg: np.ndarray, partner_kg: np.ndarray) -> None:
        """Update expected yields (learning_rate) from kg seized at each post (own_kg, plus
        partner_kg x the taskforce sharing weight), then move inspections toward a target split:
        the yield-proportional split weighted by confidence E / (E + evidence_kg_per_week), the
        base split by the rest (E: the recent kg of evidence a week, so more intelligence means
        bolder moves and no evidence means a return to the base split). Each post keeps at least
        min_post_share of its base share; at most max_shift_per_week of the agency's
        inspections change post in a week."""
        model, posts = self.model, self.posts
        p = model.params["customs"]
        if p["learning_rate"] <= 0 or posts.size < 2:
            return
        inspections = model.post_inspections[posts]
        total = inspections.sum()
        if total <= 0:
            return
        weight = model.levers.intel_sharing_weight[COUNTRIES.index(self.country)]
        observed = (own_kg + weight * partner_kg) / np.maximum(inspections, 1.0)
        expected = model.post_yield[posts]
        expected += p["learning_rate"] * (observed - expected)
        model.post_yield[posts] = expected
        evidence = float((own_kg + weight * partner_kg).sum())
        self.evidence_kg += p["learning_rate"] * (evidence - self.evidence_kg)
        scale = self.evidence_kg + p["evidence_kg_per_week"]
        confidence = self.evidence_kg / scale if scale > 0 else 0.0
        base = model.post_base_inspections[posts]
        base = base / base.sum() if base.sum() > 0 else np.full(posts.size, 1.0 / posts.size)
        share = expected / expected.sum() if expected.sum() > 0 else base
        target = np.maximum(p["min_post_share"] * base,
                            confidence * share + (1 - confidence) * base)
        wanted = target / target.sum() * total - inspections
        moving = np.abs(wanted).sum() / 2          # inspections that would change post
        if moving > 0:
            limit = p["max_shift_per_week"] * total
            model.post_inspections[posts] = inspections + wanted * min(1.0, limit / moving)


class Regulator(FixedAgent):
    """A drug-control authority (China, India, Mexico, the US, the UN drug commission).

    National regulators adopt UN controls after a lag (China's shortens with cooperation); the UN
    controls a precursor once the evidence on it reaches the detection lag: each week it is a
    large share of the trade counts one week, plus one more per detection_seizure_kg of it seized
    and tested that week, so more seizures mean earlier control. China's
    regulator also carries the cooperation level with the US (0 to 1), which moves toward a
    target set by diplomacy (policies shift or cap it).
    """

    def __init__(self, model, spec: dict, country: int, cell):
        super().__init__(model)
        self.name, self.country, self.cell = spec["name"], country, cell
        n_products = model.chemicals.fentanyl + 1
        self.adoption_progress = np.zeros(n_products)
        self.evidence_weeks = np.zeros(n_products)
        self.cooperation = model.params["regulators"]["china_cooperation_initial"]

    def adoption_lag_weeks(self) -> float:
        p = self.model.params["regulators"]
        if self.country == CHINA:
            coop = self.model.china_cooperation
            return (p["china_adoption_lag_weeks_uncooperative"] * (1 - coop)
                    + p["china_adoption_lag_weeks"] * coop)
        lags = {INDIA: "india_adoption_lag_weeks", MEXICO: "mexico_adoption_lag_weeks"}
        return p[lags.get(self.country, "us_adoption_lag_weeks")]

    def step(self) -> None:
        model, p = self.model, self.model.params["regulators"]
        if self.country == CHINA:
            levers = model.levers
            target = min(levers.cooperation_cap,
                         float(np.clip(p["china_cooperation_base"] + levers.cooperation_shift,
                                       0, 1)))
            self.cooperation += p["china_cooperation_adjust_rate"] * (target - self.cooperation)
        if self.country == UN:
            prominent = model.precursor_share_ema > p["detection_share_threshold"]
            seized = model.week_seized_kg_by_chemical / p["detection_seizure_kg"]
            self.evidence_weeks[:-1] = np.where(prominent, self.evidence_weeks[:-1] + 1 + seized,
                                                0.0)
            due = (self.evidence_weeks >= p["un_detection_lag_weeks"]) & ~model.controlled[UN]
            if due.any():
                model.set_controlled(UN, np.flatnonzero(due).tolist(), True, cause="detected")
            return
        pending = model.controlled[UN] & ~model.controlled[self.country]
        lag = self.adoption_lag_weeks()
        self.adoption_progress = np.where(pending, self.adoption_progress
                                          + (1.0 / lag if lag > 0 else 1.0), 0.0)
        due = self.adoption_progress >= 1.0
        if due.any():
            model.set_controlled(self.country, np.flatnonzero(due).tolist(), True,
                                 cause="adopted UN control")
