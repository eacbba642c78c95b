"""`FentanylModel`: the supply chain from Chinese precursor makers to US users, one week a step.

One step: diplomacy and regulation -> makers fill orders -> precursor shipments are inspected
-> cartels synthesize (labs may be raided) -> fentanyl loads cross US entry routes and are
inspected -> the retail market clears -> users use, overdose, enter and leave treatment ->
agents adapt (routes, suppliers, products, entry and exit) -> record.
"""

from __future__ import annotations

import copy
import datetime as dt

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim import market
from sim.agents import Cartel, CustomsAgency, Regulator
from sim.chemicals import load_chemicals
from sim.config import Scenario
from sim.kernels import rng
from sim.kernels.makers import fill_orders, maker_week
from sim.kernels.shipments import inspect
from sim.kernels.users import C_TREATMENT, C_USING, USING, step_users, user_rules
from sim.metrics import PrecursorTrade, columns_for, observe
from sim.network import MAX_TRANSIT_WEEKS, build_graph, compile_routes
from sim.pipeline import Pipeline
from sim.policies import Levers
from sim.populations import CHINA, COUNTRIES, INDIA, Makers, Users
from sim.profiling import PhaseClock
from sim.recorder import Recorder

RING_WEEKS = MAX_TRANSIT_WEEKS


class FentanylModel(mesa.Model):
    """The model. Build it from a validated `Scenario` (see `sim.config.load_scenario`)."""

    def __init__(self, scenario: Scenario):
        super().__init__(seed=scenario.seed)
        self.scenario, self.seed, self.week = scenario, scenario.seed, 0
        self.params = scenario.parameters
        self.chemicals = load_chemicals()
        self._build_network(scenario.world)
        self._build_controls()
        self._build_customs(scenario.world)
        self.levers = self._base_levers()
        self._build_regulators(scenario.world)
        self._build_makers(scenario.world)
        self._build_users(scenario.world)
        self._build_cartels(scenario.world)
        self.pipeline = Pipeline(RING_WEEKS, len(self.routes.names), len(self.post_names),
                                 self.chemicals.fentanyl)
        self.week_seized_kg_by_chemical = np.zeros(self.chemicals.fentanyl)
        # each model gets its own copies: policies keep state (e.g. which firms they listed)
        self.policies = sorted(copy.deepcopy(scenario.policies),
                               key=lambda p: (p.order, p.start_week))
        for policy in self.policies:
            policy.setup(self)
        self.events: list[tuple[int, str]] = []
        self.week_outcome, self.week_user_counts = None, None   # set by each step
        self.recorder = Recorder(columns_for(self), scenario.weeks, scenario.start)
        self.clock = PhaseClock()   # seconds per phase of the week (`run.py profile`)
        self.shipments_inspected = 0   # consignments and loads, over the weeks run

    # --- construction ----------------------------------------------------------------------
    def _build_network(self, world: dict) -> None:
        self.graph = build_graph(world)
        self.space = Network(self.graph, random=self.random)
        self.node_index = self.graph.graph["index"]
        (self.routes, self.precursor_route, self.entry_route, self.entry_names,
         self.entry_market_share) = compile_routes(self.graph, world)
        self.market_names = [n["name"] for n in world["nodes"] if n["kind"] == "us_market"]
        # who each route serves, and which US entry it crosses (len(entry_names) = none)
        n_routes, n_entries = len(self.routes.names), len(self.entry_names)
        self.route_owner = np.zeros(n_routes, np.int64)
        self.route_entry = np.full(n_routes, n_entries, np.int64)
        for b in range(self.precursor_route.shape[2]):
            ids = self.precursor_route[:, :, b]
            self.route_owner[ids[ids >= 0]] = b
        for b, e in zip(*np.nonzero(self.entry_route >= 0), strict=True):
            self.route_owner[self.entry_route[b, e]] = b
        post_nodes = [p["name"] for a in world["customs_agencies"] for p in a["posts"]]
        for r in range(n_routes):
            for j in range(self.routes.post_ptr[r], self.routes.post_ptr[r + 1]):
                name = post_nodes[self.routes.posts[j]]
                if name in self.entry_names:
                    self.route_entry[r] = self.entry_names.index(name)

    def _build_controls(self) -> None:
        chem = self.chemicals
        self.controlled = np.zeros((len(COUNTRIES), chem.fentanyl + 1), bool)
        self.controlled[:, chem.fentanyl] = True
        for c, who in enumerate(chem.controlled_at_start):
            for country in who:
                self.controlled[COUNTRIES.index(country), c] = True
        self.precursor_share_ema = np.zeros(chem.fentanyl)

    def _build_regulators(self, world: dict) -> None:
        capital = self.node_index[world["nodes"][0]["name"]]
        self.regulators = {}
        for spec in world["regulators"]:
            country = COUNTRIES.index(spec["country"])
            nodes = [n["name"] for n in world["nodes"] if n.get("country") == spec["country"]]
            cell = self.space[self.node_index[nodes[0]] if nodes else capital]
            self.regulators[country] = Regulator(self, spec, country, cell)
        self.china = self.regulators[CHINA]
        self._update_china_enforcement()

    def _build_customs(self, world: dict) -> None:
        posts = [(agency, post) for agency in world["customs_agencies"] for post in agency["posts"]]
        self.post_names = [post["name"] for _, post in posts]
        self.post_country = np.array([COUNTRIES.index(a["country"]) for a, _ in posts])
        self.post_traffic = np.array([p["traffic_per_week"] for _, p in posts], float)
        self.post_base_inspections = np.array([p["inspections_per_week"] for _, p in posts], float)
        self.post_inspections = self.post_base_inspections.copy()   # moved by agencies' learning
        self.post_yield = np.zeros(len(posts))   # expected kg seized per inspection
        self.route_passes_post = np.zeros((len(self.routes.names), len(posts)))
        for r in range(len(self.routes.names)):
            ptr = self.routes.post_ptr
            self.route_passes_post[r, self.routes.posts[ptr[r]:ptr[r + 1]]] = 1.0
        self.post_detection = np.array([p["detection_prob"] for _, p in posts], float)
        self.post_intel = np.array([p["intel"] for _, p in posts], float)
        self.post_illicit_count = np.zeros(len(posts))
        self.seize_prob = np.zeros(len(posts))
        self.post_is_us = self.post_country == COUNTRIES.index("us")
        self.post_is_mexico = self.post_country == COUNTRIES.index("mexico")
        self.customs = []
        for agency in world["customs_agencies"]:
            ids = np.array([i for i, (a, _) in enumerate(posts) if a is agency])
            cell = self.space[self.node_index[agency["posts"][0]["name"]]]
            self.customs.append(CustomsAgency(self, agency, cell, ids))

    def _build_makers(self, world: dict) -> None:
        p = self.params["makers"]
        regions = world["maker_regions"]
        self.region_share = np.array([r["share"] for r in regions], float)
        country_of = {n["name"]: n["country"] for n in world["nodes"]}
        self.region_country = np.array([COUNTRIES.index(country_of[r["name"]]) for r in regions])
        self.mode_ok = (self.precursor_route >= 0).any(axis=2)
        n_slots = int(np.ceil(p["firms"] * p["slot_headroom"]))
        self.makers = Makers.empty(n_slots)
        slots = np.arange(p["firms"])
        u = rng.draws(self.seed, rng.SETUP, 0, slots * 8 + 7)
        chem = self.chemicals
        cum = np.cumsum(chem.makers_2016) / chem.makers_2016.sum()
        precursor = np.minimum(np.searchsorted(cum, u, "right"), cum.size - 1)
        finished = np.flatnonzero(chem.finished)[0]
        v = rng.draws(self.seed, rng.SETUP, 0, slots * 8 + 6)
        self.makers.create(slots, self.seed, rng.SETUP, 0, p, self.region_share,
                           self.region_country, precursor, self.mode_ok)
        # finished fentanyl-related substances were sold by Chinese firms (seed article 004)
        chinese = self.makers.country[slots] == CHINA
        self.makers.chemical[slots[chinese & (v < p["finished_share_2016"])]] = finished
        self.maker_capacity_kg = self.makers.capacity_kg_per_week.astype(np.float64)

    def _build_users(self, world: dict) -> None:
        p = self.params["users"]
        share = np.array([n["population_share"] for n in world["nodes"]
                          if n["kind"] == "us_market"], float)
        self.people_per_agent = p["people_with_oud"] / p["agents"]
        n_slots = int(np.ceil(p["agents"] * p["slot_headroom"]))
        self.users = Users.create(n_slots, p["agents"], share, p["heroin_dose_mg"], self.seed)
        self.user_region_start = self.users.region_start(share.size)
        self.people_using = np.bincount(self.users.region[self.users.state == USING],
                                        minlength=share.size) * self.people_per_agent
        self.people_in_treatment = 0.0

    def _build_cartels(self, world: dict) -> None:
        p_users, p_market = self.params["users"], self.params["market"]
        demand_kg = (p_users["people_with_oud"] * p_users["uses_per_week"]
                     * p_users["fentanyl_dose_target_mg"] / market.MG_PER_KG)
        supply_kg = demand_kg * p_market["fentanyl_share_2016"]
        self.retail_stock_kg = (self.people_using / self.people_using.sum() * supply_kg
                                / p_market["retail_turnover"])
        self.cartels = []
        for b, spec in enumerate(world["cartels"]):
            node = spec.get("lab_region") or spec["home"]
            cartel = Cartel(self, spec, b, self.space[self.node_index[node]],
                            self.entry_route[b], spec["market_share"] * supply_kg)
            cartel.home_market = (self.market_names.index(spec["home"]) if cartel.in_us
                                  else None)
            routes = self.precursor_route[:, :, b]
            cartel.transit_weeks = int(self.routes.transit_weeks[routes[routes >= 0]].max())
            self.cartels.append(cartel)
        p = self.params["cartels"]
        for cartel in self.cartels:
            slots = np.arange(len(self.makers))
            usable = slots[cartel.usable(self.makers, slots)]
            u = rng.draws(self.seed, rng.SETUP, 1, cartel.index * 100_000 + usable)
            cartel.links = np.sort(usable[np.argsort(u)[: p["supplier_links_max"] // 2]])
        self.retail_price_usd_per_mg = p_market["retail_price_ref_usd_per_mg"]

    def _base_levers(self) -> Levers:
        return Levers.from_params(self.params, len(self.post_names))

    # --- rules the policies and regulators use ---------------------------------------------
    def add_inspections(self, posts: list[int], inspections: np.ndarray) -> None:
        """Add (or, negative, remove) inspections at posts of an agency's pool. A removal takes
        what is still at the post, and the rest from the agency's other posts in proportion
        (its learning may have moved them)."""
        for post, extra in zip(posts, inspections, strict=True):
            if extra >= 0:
                self.post_inspections[post] += extra
                continue
            here = min(-extra, self.post_inspections[post])
            self.post_inspections[post] -= here
            agency = next(a for a in self.customs if post in a.posts)
            others = agency.posts[agency.posts != post]
            pool = self.post_inspections[others].sum()
            if pool > 0:
                self.post_inspections[others] *= max(0.0, 1 - (-extra - here) / pool)

    def set_controlled(self, country: int, products: list[int], value: bool,
                       cause: str = "policy") -> None:
        """Control (or decontrol) chemicals in a country from this week."""
        changed = [c for c in products if self.controlled[country, c] != value]
        if not changed:
            return
        self.controlled[country, changed] = value
        names = ", ".join(self.chemicals.names[c] for c in changed)
        verb = "controls" if value else "lifts control of"
        self.events.append((self.week, f"{COUNTRIES[country]} {verb} {names} ({cause})"))

    def _update_china_enforcement(self) -> None:
        p = self.params["regulators"]
        coop = self.china.cooperation
        self.china_enforcement = min(1.0, p["china_enforcement_min"] + coop * (
            p["china_enforcement_max"] - p["china_enforcement_min"])
            + self.levers.china_enforcement_bonus)

    @property
    def china_cooperation(self) -> float:
        return self.china.cooperation

    @property
    def date(self) -> dt.date:
        return self.scenario.start + dt.timedelta(weeks=self.week)

    # --- the week --------------------------------------------------------------------------
    def step(self) -> None:
        clock = self.clock
        clock.start()
        self._apply_policies()
        for regulator in self.regulators.values():
            regulator.step()
        self._update_china_enforcement()
        for agency in self.customs:
            agency.step()
        clock.lap("policies")
        trade = self._precursor_trade()
        clock.lap("precursor_trade")
        raided_kg = sum(cartel.lab_raids() for cartel in self.cartels)
        for cartel in self.cartels:
            cartel.synthesize()
        clock.lap("labs")
        loads_kg = self._move_fentanyl()
        clock.lap("fentanyl_movement")
        out = self.pipeline.take(self.week)
        self.week_outcome = out   # kept for views (the classroom network), never read back
        self.week_seized_kg_by_chemical = out.seized_kg_by_chemical
        delivered_us_kg = self._receive(out)
        clock.lap("receive")
        retail = market.clear(self.retail_stock_kg, self.people_using, self.params["market"],
                              self.params["users"])
        self.retail_stock_kg = np.maximum(0.0, self.retail_stock_kg - retail.sold_kg)
        weights = self.people_using / max(self.people_using.sum(), 1e-12)
        self.retail_price_usd_per_mg = float((retail.price_usd_per_mg * weights).sum())
        clock.lap("market")
        counts = self._users_week(retail)
        self.week_user_counts = counts   # agents by state and region, for views
        clock.lap("users")
        self._adapt(out)
        self._track_precursor_use(trade)
        clock.lap("adaptation")
        self.recorder.record(self.week, observe(self, trade, out, retail, counts, raided_kg,
                                                loads_kg, delivered_us_kg))
        clock.lap("record")
        self.week += 1

    def run(self, weeks: int | None = None, progress=None) -> None:
        """Run `weeks` steps (default: the scenario's horizon); `progress` is called each week."""
        for _ in range(self.scenario.weeks if weeks is None else weeks):
            self.step()
            if progress is not None:
                progress()

    def _apply_policies(self) -> None:
        for policy in self.policies:
            if self.week == policy.start_week:
                policy.on_start(self)
                self.events.append((self.week, f"starts: {policy.describe()}"))
            if policy.end_week is not None and self.week == policy.end_week:
                policy.on_end(self)
                self.events.append((self.week, f"ends: {policy.describe()}"))
        levers = self._base_levers()
        for policy in self.policies:
            if policy.active(self.week):
                policy.modify(levers, self)
        self.levers = levers

    def _maker_pressure(self) -> tuple[np.ndarray, np.ndarray]:
        """Enforcement pressure on each maker where it operates: the country's enforcement for
        a controlled chemical, a watch-list share of it for an uncontrolled one; and whether
        the chemical is controlled there."""
        makers, p = self.makers, self.params["regulators"]
        enforcement = np.zeros(len(COUNTRIES))
        enforcement[CHINA] = self.china_enforcement
        enforcement[INDIA] = p["india_enforcement"]
        controlled = self.controlled[makers.country, makers.chemical]
        share = np.where(controlled, 1.0, p["watchlist_pressure_share"])
        return share * enforcement[makers.country], controlled

    def _precursor_trade(self) -> PrecursorTrade:
        """Cartels order, makers fill or refuse, consignments are inspected and scheduled."""
        makers, chem = self.makers, self.chemicals
        self.maker_capacity_kg = (makers.capacity_kg_per_week * makers.active * np.where(
            makers.sanctioned == 1, 1.0 - self.levers.sanction_capacity_loss, 1.0))
        self.pressure, self.maker_controlled = self._maker_pressure()
        # buyers learn of a seizure when the consignment is shipped (see after_orders), so
        # only what will arrive counts as on its way
        pending = sum(self.pipeline.pending(name) for name in (
            "precursor_delivered_fe", "finished_delivered_kg"))
        in_transit = np.bincount(self.route_owner, pending, minlength=len(self.cartels))
        orders = [cartel.orders(in_transit[cartel.index]) for cartel in self.cartels]
        buyer = np.concatenate([np.full(m.size, c.index, np.int64)
                                for c, (m, _) in zip(self.cartels, orders, strict=True)])
        maker = np.concatenate([m for m, _ in orders]).astype(np.int64)
        kg = np.concatenate([k for _, k in orders])
        keep = kg > 0
        buyer, maker, kg = buyer[keep], maker[keep], kg[keep]
        # makers serve orders in a random order each week, so no buyer always comes first
        queue = np.argsort(rng.draws(self.seed, rng.ORDER_QUEUE, self.week,
                                     maker * len(self.cartels) + buyer), kind="stable")
        buyer, maker, kg = buyer[queue], maker[queue], kg[queue]
        shipped, refused = fill_orders(maker, buyer, kg, self.maker_capacity_kg,
                                       makers.compliance, self.pressure, len(self.cartels),
                                       rng.stream_key(self.seed, rng.REFUSE, self.week))
        makers.sales_kg[:] = np.bincount(maker, shipped, minlength=len(makers))
        sent = np.flatnonzero(shipped > 0)
        route = self.precursor_route[makers.region[maker[sent]], makers.mode[maker[sent]],
                                     buyer[sent]].astype(np.int64)
        product = makers.chemical[maker[sent]].astype(np.int64)
        seized_at = inspect(route, product, maker[sent] * len(self.cartels) + buyer[sent],
                            self.routes.post_ptr, self.routes.posts,
                            self.controlled[self.post_country], self.seize_prob,
                            rng.stream_key(self.seed, rng.PRECURSOR_INSPECT, self.week))
        self.shipments_inspected += sent.size
        finished = chem.finished[product]
        self.pipeline.dispatch_precursor(self.week, self.routes, route, shipped[sent],
                                         shipped[sent] * chem.yield_kg_per_kg[product],
                                         finished, product, seized_at)
        seized = np.zeros(maker.size, bool)
        seized[sent] = seized_at >= 0
        for cartel in self.cartels:
            mine = buyer == cartel.index
            cartel.after_orders(maker[mine], refused[mine], seized[mine])
        self.post_illicit_count = np.bincount(
            self.routes.posts[_route_post_positions(self.routes, route)],
            minlength=len(self.post_names)).astype(float)
        uncontrolled = ~self.controlled[makers.country[maker[sent]], product]
        self.week_shipped_share = float(shipped.sum() / kg.sum()) if kg.size else 1.0
        n_entries = len(self.entry_names)
        return PrecursorTrade(
            shipped_kg=float(shipped[sent][~finished].sum()),
            finished_kg=float(shipped[sent][finished].sum()),
            unscheduled_kg=float(shipped[sent][~finished & uncontrolled].sum()),
            by_chemical_kg=np.bincount(product, shipped[sent], minlength=chem.fentanyl),
            finished_entry_kg=np.bincount(self.route_entry[route], shipped[sent] * finished,
                                          minlength=n_entries + 1)[:n_entries])

    def _move_fentanyl(self) -> np.ndarray:
        """Cartels send loads north; returns kg dispatched per US entry route."""
        parts = [cartel.loads() for cartel in self.cartels]
        route = np.concatenate([r for r, _, _ in parts])
        kg = np.concatenate([k for _, k, _ in parts])
        keys = np.concatenate([k for _, _, k in parts])
        seized_at = inspect(route, np.full(route.size, self.chemicals.fentanyl, np.int64), keys,
                            self.routes.post_ptr, self.routes.posts,
                            self.controlled[self.post_country], self.seize_prob,
                            rng.stream_key(self.seed, rng.LOAD_INSPECT, self.week))
        self.shipments_inspected += route.size
        self.pipeline.dispatch_fentanyl(self.week, self.routes, route, kg, seized_at)
        self.post_illicit_count += np.bincount(
            self.routes.posts[_route_post_positions(self.routes, route)],
            minlength=len(self.post_names))
        n_entries = len(self.entry_names)
        return np.bincount(self.route_entry[route], kg, minlength=n_entries + 1)[:n_entries]

    def _receive(self, out) -> float:
        """Deliveries due this week go into stocks; returns kg of fentanyl reaching US retail."""
        n = len(self.cartels)
        owner = self.route_owner
        fe = np.bincount(owner, out.precursor_delivered_fe, minlength=n)
        finished = np.bincount(owner, out.finished_delivered_kg, minlength=n)
        fentanyl = np.bincount(owner, out.fentanyl_delivered_kg, minlength=n)
        wholesale = (self.params["market"]["wholesale_price_ref_usd_per_kg"]
                     * self.retail_price_usd_per_mg
                     / self.params["market"]["retail_price_ref_usd_per_mg"])
        n_entries = len(self.entry_names)
        by_entry = np.bincount(self.route_entry, out.fentanyl_delivered_kg,
                               minlength=n_entries + 1)[:n_entries]
        self.retail_stock_kg += by_entry @ self.entry_market_share
        to_us = float(fentanyl.sum())
        for cartel in self.cartels:
            b = cartel.index
            cartel.precursor_stock_kg += fe[b]
            if cartel.in_us:
                self.retail_stock_kg[cartel.home_market] += finished[b]
                cartel.delivered_kg = finished[b]
                to_us += finished[b]
            else:
                cartel.fentanyl_stock_kg += finished[b]
                cartel.delivered_kg = fentanyl[b]
            cartel.revenue_usd = cartel.delivered_kg * wholesale
        return to_us

    def _users_week(self, retail) -> np.ndarray:
        p, users, levers = self.params["users"], self.users, self.levers
        ppa = self.people_per_agent
        using_people = self.people_using.sum()
        free_places = max(0.0, levers.treatment_capacity_people - self.people_in_treatment)
        wanted = using_people * p["treatment_entry_prob"]
        room = min(1.0, free_places / max(wanted * levers.treatment_entry_multiplier, 1e-12))
        entry_prob = p["treatment_entry_prob"] * levers.treatment_entry_multiplier * room
        idle_agents = max(1.0, len(users) - (using_people + self.people_in_treatment) / ppa)
        init_prob = min(1.0, p["initiation_people_per_week"] * levers.initiation_multiplier
                        / ppa / idle_agents)
        fatality = p["overdose_fatality"] * (1 - levers.naloxone_coverage
                                             * p["naloxone_efficacy"])
        keys = [rng.stream_key(self.seed, s, self.week) for s in (rng.OVERDOSE, rng.STATE_CHANGE)]
        rules = user_rules(
            heroin_dose_mg=p["heroin_dose_mg"], uses_per_week=p["uses_per_week"],
            hazard_per_use=p["overdose_hazard_per_use"], hazard_exponent=p["hazard_exponent"],
            sigma_fentanyl=p["dose_sigma_fentanyl"], sigma_heroin=p["dose_sigma_heroin"],
            fatality=fatality, treatment_entry_prob=entry_prob,
            treatment_after_overdose_prob=p["treatment_after_overdose_prob"] * room,
            treatment_exit_prob=p["treatment_exit_prob"],
            relapse_prob=p["relapse_after_treatment_prob"], remission_prob=p["remission_prob"],
            initiation_prob=init_prob, tolerance_adapt_rate=p["tolerance_adapt_rate"],
            tolerance_elasticity=p["tolerance_elasticity"],
            tolerance_loss=p["tolerance_loss_in_treatment"], tolerance_min_mg=p["tolerance_min_mg"])
        counts = step_users(users.state, users.tolerance_mg, self.user_region_start,
                            retail.fentanyl_share, retail.fentanyl_mg, rules, *keys)
        self.people_using = counts[C_USING] * ppa
        self.people_in_treatment = counts[C_TREATMENT].sum() * ppa
        return counts

    def _adapt(self, out) -> None:
        """Routes, suppliers, sales targets and labs; makers' raids, switches and entry."""
        n_entries = len(self.entry_names)
        for cartel in self.cartels:
            mine = (self.route_owner == cartel.index) & (self.route_entry < n_entries)
            seized = np.bincount(self.route_entry[mine], out.fentanyl_seized_kg_route[mine],
                                 minlength=n_entries)
            delivered = np.bincount(self.route_entry[mine], out.fentanyl_delivered_kg[mine],
                                    minlength=n_entries)
            if not cartel.in_us:
                cartel.learn_routes(seized, delivered)
            cartel.lose_links_to_operations()
            cartel.search_suppliers()
            cartel.plan(self.retail_price_usd_per_mg
                        / self.params["market"]["retail_price_ref_usd_per_mg"])
        self._customs_adapt(out)
        self._makers_adapt()

    def _customs_adapt(self, out) -> None:
        """Agencies learn from this week's seizures: their own at each post and, when they share
        intelligence, what partner countries' posts caught on the routes through each post."""
        own = out.precursor_seized_kg + out.finished_seized_kg + out.fentanyl_seized_kg
        by_route_post = out.seized_kg_route_post.reshape(len(self.routes.names), -1)
        sharing = self.levers.intel_sharing_weight[self.post_country] > 0
        for agency in self.customs:
            partners = sharing.copy()
            partners[agency.posts] = False
            partner_by_route = by_route_post[:, partners].sum(axis=1)
            partner = partner_by_route @ self.route_passes_post[:, agency.posts]
            agency.learn(own[agency.posts], partner)

    def _track_precursor_use(self, trade) -> None:
        """Exponential average of each chemical's share of precursor kg shipped (what the UN
        regulator sees in seizure and trade data); finished substances are not precursors."""
        by_chemical = np.where(self.chemicals.finished, 0.0, trade.by_chemical_kg)
        share = by_chemical / by_chemical.sum() if by_chemical.sum() > 0 else by_chemical
        rate = self.params["regulators"]["un_share_memory_rate"]
        self.precursor_share_ema += rate * (share - self.precursor_share_ema)

    def _makers_adapt(self) -> None:
        makers, p = self.makers, self.params["makers"]
        substitutes = self._substitutes()
        substitute = substitutes[makers.country]
        free = np.flatnonzero(makers.active == 0)   # slots emptied this week refill next week
        keys = [rng.stream_key(self.seed, s, self.week)
                for s in (rng.MAKER_RAID, rng.MAKER_SWITCH, rng.MAKER_RELIST)]
        levers = self.levers
        # regulators raid makers of controlled chemicals; joint operations also hit makers
        # known to supply cartels, controlled chemical or not
        raid_prob = (p["raid_rate"] * self.pressure * levers.maker_raid_multiplier[makers.country]
                     + levers.supplier_raid_rate[makers.country] * (makers.sales_kg > 0))
        # a substitute in the same analog class is a quick change of recipe; another class
        # means a new synthesis route and takes longer
        chem = self.chemicals
        same_class = (substitute < 0) | chem.same_class[makers.chemical, np.maximum(substitute, 0)]
        switch_hazard = np.where(same_class, 1.0 / p["switch_lag_weeks"],
                                 1.0 / p["new_route_lag_weeks"])
        maker_week(makers.active, makers.chemical, makers.sanctioned, makers.compliance,
                   makers.online, self.maker_controlled.astype(np.uint8), raid_prob,
                   substitute, p["online_raid_exposure"] * levers.online_raid_multiplier,
                   switch_hazard, levers.relist_hazard, *keys)
        if self.levers.online_delist_hazard > 0:
            u = rng.draws(self.seed, rng.DELIST, self.week, np.arange(len(makers)))
            makers.online[(makers.active == 1) & (u < self.levers.online_delist_hazard)] = 0
        unmet = 1.0 - self.week_shipped_share
        u = rng.draws(self.seed, rng.MAKER_ENTRY, self.week, np.arange(1))[0]
        expected = p["entry_per_week_max"] * max(0.0, unmet)
        entrants = int(expected) + int(u < expected - int(expected))
        free = free[:entrants]
        if free.size:
            new_chem = substitutes[self.region_country]
            makers.create(free, self.seed, rng.ENTRANT, self.week, p, self.region_share,
                          self.region_country, np.zeros(free.size, np.int16), self.mode_ok)
            makers.chemical[free] = new_chem[makers.region[free]]
            gone = makers.chemical[free] < 0
            makers.active[free[gone]] = 0
            makers.chemical[free[gone]] = 0

    def _substitutes(self) -> np.ndarray:
        """Per country: the first precursor in substitution order that is available and not
        controlled there (-1 if none)."""
        chem = self.chemicals
        ok = (~chem.finished & chem.available(self.date))[None, :] & ~self.controlled[
            :, : chem.fentanyl]
        first = np.argmax(ok, axis=1)
        return np.where(ok.any(axis=1), first, -1).astype(np.int16)


def _route_post_positions(routes, route: np.ndarray) -> np.ndarray:
    """Indices into routes.posts of every post on every listed route."""
    if route.size == 0:
        return np.empty(0, np.int64)
    starts, ends = routes.post_ptr[route], routes.post_ptr[route + 1]
    lengths = ends - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
