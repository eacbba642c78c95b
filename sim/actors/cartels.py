"""Cartels (Sinaloa, CJNG, ...): Mexican trafficking organisations, as Mesa agents.

A cartel buys precursors (`sim.actors.buyers`), makes fentanyl in labs in Mexico, and sends it
north through US entry routes. State: labs, stocks (kg pure or its equivalent), supplier links,
each entry route's expected loss share and this week's split, armed strength.
Weekly rules: Mexican lab raids and synthesis (`labs_week`), loads north (`loads_north`),
then learning from seized loads (`week_end`), supplier search and planning (`plan`: sales
target, labs, arms); loads and learning run as kernels over every cartel at once, on the rows
of `CartelRows`. Parameters: `PARAMS` (group `cartels`, also read by mail-order buyers).
Columns: `COLUMNS`.
"""

from __future__ import annotations

import math

import numpy as np

from sim.actors import per_model, registered
from sim.actors.buyers import PrecursorBuyer, once_built
from sim.kernels import cartels as kernels
from sim.kernels import layout, rng
from sim.kernels.sums import pairwise_sum
from sim.parameter import ASSUMPTION, FITTED, NARCOLOGIC, Param

PARAMS: dict[str, Param] = {
    "learning_rate": Param(0.36, "1/week", NARCOLOGIC + ": trafficker learning rate",
                           0.0, 1.0),
    "risk_aversion": Param(8.0, "utility per unit expected loss share", ASSUMPTION, 0.0, 100.0),
    "route_cost_weight": Param(130.0, "utility per (route cost / wholesale price)", ASSUMPTION,
                               0.0, 1000.0),
    "route_loss_prior": Param(0.1, "share of kg lost", ASSUMPTION, 0.0, 1.0),
    "deterrence_elasticity": Param(1.0, "d log kg sent north / d log expected share of value "
                                   "kept", "assumption: cartels hold stock when every route "
                                   "loses more (0: they ship their target whatever the risk)",
                                   0.0, 20.0),
    "route_forgetting_rate": Param(0.02, "1/week", "assumption: unused routes drift back "
                                   "toward the prior", 0.0, 1.0),
    "load_size_kg": Param(1.0, "kg pure fentanyl per load", "assumption: a car load of pills "
                          "or powder, about 16 kg of product at ~7% (CBP seizure examples, "
                          "docs/sources.md); a US entry's `load_size_kg` in the world file "
                          "replaces it there", 0.01, 1000.0),
    "lab_output_kg_per_week": Param(3.0, "kg pure fentanyl per lab per week", ASSUMPTION,
                                    0.01, 1000.0),
    "lab_build_rate": Param(0.1, "share of lab shortfall closed per week", ASSUMPTION, 0.0, 1.0),
    "expansion_rate": Param(0.02, "1/week growth of sales target at full price premium",
                            "assumption: the fentanyl share spread over 2014-2020 "
                            "(RAND RR3117: 'episodically fast')" + FITTED, 0.0, 1.0),
    "stock_cover_weeks": Param(3.0, "weeks of expected sales held", ASSUMPTION, 0.0, 52.0),
    "order_cap_weeks": Param(2.0, "weeks of target sales ordered at most in one week",
                             ASSUMPTION, 0.1, 52.0),
    "supply_memory_rate": Param(0.1, "1/week", "assumption: weight of the latest week in a "
                                "cartel's average of what it supplied (about ten weeks' "
                                "memory)", 0.0, 1.0),
    "target_supply_cap": Param(2.0, "x average weekly supply", "assumption: a cartel plans no "
                               "more than twice what it has lately supplied", 1.0, 100.0),
    "price_premium_floor": Param(-0.5, "retail price / reference price - 1", "assumption: "
                                 "the largest price drop a sales target responds to",
                                 -1.0, 0.0),
    "price_premium_ceiling": Param(1.0, "retail price / reference price - 1", "assumption: "
                                   "the largest price rise a sales target responds to",
                                   0.0, 100.0),
    "lab_headroom": Param(1.25, "labs held per lab the sales target needs", ASSUMPTION,
                          1.0, 10.0),
    "supplier_links_max": Param(24, "links", ASSUMPTION, 1, 256),
    "supplier_search_prob": Param(2.0, "sellers met/week via marketplaces and brokers",
                                  ASSUMPTION, 0.0, 10.0),
    "broker_search_factor": Param(0.3, "search rate for offline sellers relative to online",
                                  ASSUMPTION, 0.0, 1.0),
    "link_loss_on_seizure": Param(0.7, "chance a seized shipment ends the link", ASSUMPTION,
                                  0.0, 1.0),
    "guns_south_per_year": Param(200_000, "firearms/year", "GAO-21-322 (Mexican government "
                                 "estimate)", 0, 10_000_000),
    "guns_per_strength_unit": Param(50_000, "firearms/year for armed strength 1",
                                    "assumption: Sinaloa's ~40% of 200,000 guns a year gives "
                                    "strength 1.6", 1, 10_000_000),
    "armed_decay_per_week": Param(0.01, "1/week", "assumption: weapons lost or worn out over "
                                  "about two years", 0.0, 1.0),
    "armed_deterrence": Param(1.5, "raid success = 1 / (1 + this x armed strength)", ASSUMPTION,
                              0.0, 100.0),
    "lab_raid_rate": Param(0.02, "raid attempts per lab per week at Mexican enforcement 1",
                           ASSUMPTION, 0.0, 1.0),
    "mexico_enforcement": Param(0.5, "0-1", ASSUMPTION, 0.0, 1.0),
    "pill_press_share_2016": Param(0.2, "share of a cartel's fentanyl pressed into counterfeit "
                                   "pills in 2016", "HIDTA: 10.3% of fentanyl seizure events "
                                   "were pills in 2017 against 49% in 2023 (Palamar et al., "
                                   "IJDP 2024), so about a fifth of the 2023 practice",
                                   0.0, 1.0),
    "pill_adoption_rate": Param(0.01, "1/week: logistic rate at which pressing spreads",
                                "assumption: labs copy a practice that pays (a counterfeit "
                                "pill sells for $10-30 with 1-2 mg, several times powder's "
                                "price per mg: docs/sources.md)" + FITTED, 0.0, 1.0),
}

COLUMNS = {
    "cartel_revenue_usd": ("US$/week", "sum"),
    "fentanyl_synthesized_kg": ("kg pure/week made in Mexican labs", "sum"),
    "mexico_labs": ("labs", "mean"),
    "mexico_lab_raids": ("raid attempts/week", "sum"),
    "mexico_labs_dismantled": ("successful raids/week", "sum"),
    "cartel_armed_strength": ("mean armed strength of Mexican cartels (guns a year x share / "
                              "guns_per_strength_unit)", "mean"),
}


class Cartel(PrecursorBuyer):
    """A Mexican trafficking organisation with labs (world file: a `cartels` entry with a
    `lab_region`)."""

    def __init__(self, model, spec: dict, index: int, cell, target_kg_per_week: float):
        super().__init__(model, spec, index, cell, target_kg_per_week)
        p = self.params
        self.labs = int(spec["labs"])
        self.armed_share = float(spec["armed_share"])
        self.guns_per_strength_unit = p["guns_per_strength_unit"]
        self.armed_strength = self.equilibrium_strength(p["guns_south_per_year"])
        self.fentanyl_stock_kg = target_kg_per_week * p["stock_cover_weeks"]
        self.precursor_stock_kg = self.fentanyl_stock_kg
        self.entry_routes = model.network.entry_route[index]
        self.has_route = available = self.entry_routes >= 0   # per US entry
        # each entry route's cost as a share of the wholesale price
        self.cost_share = (model.network.routes.cost_usd_per_kg[np.maximum(self.entry_routes, 0)]
                           / model.params["market"]["wholesale_price_ref_usd_per_kg"])
        self.route_loss = np.where(available, p["route_loss_prior"], np.nan)
        self.route_split = np.where(available, 1.0 / max(1, available.sum()), 0.0)
        entries = [n for n in model.scenario.world["nodes"] if n["kind"] == "us_entry"]
        self.load_kg = np.array([n.get("load_size_kg", p["load_size_kg"]) for n in entries],
                                float)   # kg pure per load, by US entry (world file)
        self.labs_raided = self.raids_attempted = 0
        self.pill_press_share = p["pill_press_share_2016"]   # of its fentanyl, pressed into pills
        # `plan`'s parameters, read once (the group is read-only)
        self.plan_rates = (p["pill_adoption_rate"], p["lab_headroom"], p["lab_output_kg_per_week"],
                           p["lab_build_rate"], p["armed_decay_per_week"])

    def lead_weeks(self) -> float:
        """Labs hold `stock_cover_weeks` of stock beyond the longest precursor transit."""
        return self.transit_weeks + self.params["stock_cover_weeks"]

    def supplied_kg(self) -> float:
        return self.made_kg

    @property
    def send_share(self) -> float:
        """Share of the week's sales target it sends north (deterrence; kept in `CartelRows`)."""
        table = rows(self.model)
        return float(table.send_share[table.cartels.index(self)])

    # --- production ------------------------------------------------------------------------
    def lab_week(self, rates: tuple, attempt: float, attempt_key: np.uint64,
                 success_key: np.uint64) -> float:
        """Mexican raids, then synthesis. Forces attempt a raid on each lab with probability
        `attempt` (lab_raid_rate x enforcement x a policy's multiplier); an attempt succeeds with
        probability 1 / (1 + armed_deterrence x armed strength) and takes the lab and its share
        of the stocks (`sim.kernels.cartels.lab_raids`). Then precursor turns into fentanyl, up
        to lab capacity and what the stock target needs. `rates`: `CartelRows.lab_rates`.
        Returns kg of fentanyl seized."""
        armed_deterrence, stock_cover_factor, lab_output_kg = rates
        labs, fentanyl_kg, precursor_kg = self.labs, self.fentanyl_stock_kg, self.precursor_stock_kg
        attempted = raided = 0
        seized = 0.0
        if labs != 0:
            success = 1.0 / (1.0 + armed_deterrence * self.armed_strength)
            layout.within_span(labs, "labs")   # lab l draws buyer x KEY_SPAN + l
            attempted, raided = kernels.lab_raids(labs, self.index * layout.KEY_SPAN, attempt_key,
                                                  success_key, attempt, float(success))
            share = raided / labs
            seized = fentanyl_kg * share
            fentanyl_kg -= seized
            precursor_kg *= 1 - share
            labs -= raided
        room = max(0.0, self.target_kg_per_week * stock_cover_factor - fentanyl_kg)
        made = min(labs * lab_output_kg, precursor_kg, room)
        self.labs, self.raids_attempted, self.labs_raided, self.made_kg = (labs, attempted,
                                                                           raided, made)
        self.precursor_stock_kg, self.fentanyl_stock_kg = precursor_kg - made, fentanyl_kg + made
        return seized

    def receive(self, precursor_fe_kg, finished_kg, fentanyl_kg, wholesale_usd_per_kg,
                dealers) -> float:
        """Precursor and finished substances go into the labs' stocks; the cartel is paid the
        wholesale price for its loads that reached US markets (sold on at once)."""
        self.precursor_stock_kg += precursor_fe_kg
        self.fentanyl_stock_kg += finished_kg
        self.delivered_kg = fentanyl_kg
        self.revenue_usd = self.delivered_kg * wholesale_usd_per_kg
        return 0.0

    @classmethod
    def week_end(cls, model, outcome) -> None:
        """Every cartel learns the expected loss of each US entry from this week's kg seized and
        delivered per route of the network, at learning_rate where loads arrived or were
        seized; unused routes drift back toward the prior (route_forgetting_rate). It then
        weighs its routes again (`CartelRows.weigh`); one kernel for all
        (`sim.kernels.cartels.learn_week`)."""
        table = rows(model)
        kernels.learn_week(*table.learns, outcome.fentanyl_seized_kg_route,
                           outcome.fentanyl_delivered_kg, *table.rates)
        table.weigh()

    # --- planning ------------------------------------------------------------------------
    def plan(self, growth: float) -> None:
        """The sales target (as every buyer); pressing pills spreads among the cartel's labs by
        imitation (logistic: the share pressing grows by pill_adoption_rate x share x share
        not yet pressing); then move lab numbers toward what the target needs and arm with
        the guns that flow south."""
        super().plan(growth)
        adoption_rate, headroom, lab_output_kg, build_rate, decay_rate = self.plan_rates
        s = self.pill_press_share
        self.pill_press_share = s + adoption_rate * s * (1.0 - s)
        wanted = math.ceil(headroom * self.target_kg_per_week / lab_output_kg)
        step = build_rate * (wanted - self.labs)
        self.labs += math.ceil(step) if step > 0 else math.floor(step)
        target = self.equilibrium_strength(self.model.levers.guns_south_per_year)
        self.armed_strength += decay_rate * (target - self.armed_strength)

    def equilibrium_strength(self, guns_south_per_year: float) -> float:
        """Armed strength the cartel settles at with this gun flow: its share of the guns, in
        units of guns_per_strength_unit a year."""
        return guns_south_per_year * self.armed_share / self.guns_per_strength_unit


def cartels(model) -> list[Cartel]:
    """The cartels, from Mesa's registry, in the world file's order; kept once every buyer is
    built (`sim.actors.buyers.buyers`): no agent joins or leaves a model after it is built."""
    return once_built(model, "_cartels", lambda: registered(model, Cartel))


def pill_press_share(model) -> float:
    """Share of the cartels' fentanyl pressed into pills, weighted by their sales targets."""
    every = cartels(model)
    target = pressed = 0   # both added in order from 0, as `sum` does, in one pass
    for c in every:
        target += c.target_kg_per_week
        pressed += c.pill_press_share * c.target_kg_per_week
    if target <= 0:
        return float(np.mean([c.pill_press_share for c in every])) if every else 0.0
    return pressed / target


class CartelRows:
    """The cartels' arrays per US entry as one array each, row c for cartel c (in `cartels`
    order), which the week's kernels (`sim.kernels.cartels`) take for all cartels at once; each
    cartel's own arrays become views of its rows. Also the parameters those kernels read, as
    numbers (the scenario's `cartels` group is read-only)."""

    ROWS = {"route_loss": float, "route_split": float, "cost_share": float, "has_route": bool,
            "load_kg": float, "entry_routes": np.int64}

    def __init__(self, model, every: list[Cartel]):
        self.cartels, n_entries = every, len(model.network.entry_names)
        for name, dtype in self.ROWS.items():
            rows = np.array([getattr(c, name) for c in every], dtype).reshape(len(every),
                                                                              n_entries)
            setattr(self, name, rows)
            for cartel, row in zip(every, rows, strict=True):
                setattr(cartel, name, row)
        self.index = np.array([c.index for c in every], np.int64)
        self.send_share = np.ones(len(every))   # share of the week's sales target sent north
        p = model.params["cartels"]
        self.lab_raid_rate = p["lab_raid_rate"]
        # `Cartel.lab_week`'s: armed_deterrence, weeks of target sales held, lab output
        self.lab_rates = (p["armed_deterrence"], 1 + p["stock_cover_weeks"],
                          p["lab_output_kg_per_week"])
        self.risk_aversion, self.route_cost_weight = (float(p["risk_aversion"]),
                                                      float(p["route_cost_weight"]))
        self.route_loss_prior = float(p["route_loss_prior"])
        self.deterrence_elasticity = float(p["deterrence_elasticity"])
        self.learning_rate = float(p["learning_rate"])
        self.route_forgetting_rate = float(p["route_forgetting_rate"])
        # each entry's utility, loss counted and weight (exp of the utility), revised each
        # time the cartels learn (`Cartel.week_end`)
        self.utility, self.loss, self.weight = (np.empty((len(every), n_entries))
                                                for _ in range(3))
        kernels.utilities(self.route_loss, *self.weighing())
        self.weigh()
        network = model.network   # `learn_week`'s arguments before and after the week's outcomes
        self.learns = (self.route_loss, self.index, network.route_owner, network.route_entry)
        self.rates = (self.learning_rate, self.route_forgetting_rate, self.route_loss_prior,
                      *self.weighing())
        # `loads_week`'s arguments before the stocks and between the targets and the week
        self.splits = (self.weight, self.loss, self.cost_share, self.has_route,
                       self.route_loss_prior, self.deterrence_elasticity, self.route_split)
        self.loads = (self.send_share, self.load_kg, self.entry_routes, self.index)

    def weighing(self) -> tuple:
        """The arguments of `sim.kernels.cartels.utilities` after route_loss."""
        return (self.cost_share, self.has_route, self.risk_aversion, self.route_cost_weight,
                self.utility, self.loss)

    def weigh(self) -> None:
        """Each entry's weight from its utility: NumPy's exp (its SIMD version rounds differently
        from the compiled one)."""
        np.exp(self.utility, out=self.weight)


def rows(model) -> CartelRows:
    """The model's `CartelRows`, made at the first call: no agent joins or leaves a model after
    it is built."""
    return per_model(model, "_cartel_rows", lambda: CartelRows(model, cartels(model)))


def labs_week(model, week) -> None:
    """Phase: Mexican forces raid labs, then every cartel synthesizes (`Cartel.lab_week`)."""
    table, levers = rows(model), model.levers
    attempt = float(min(1.0, table.lab_raid_rate * levers.mexico_enforcement
                        * levers.lab_raid_multiplier))
    keys, rates = rng.keys_of_week(model.seed, week.number), table.lab_rates
    attempt_key, success_key = keys[rng.LAB_RAID], keys[rng.LAB_RAID_SUCCESS]
    seized_kg = 0
    for cartel in table.cartels:
        seized_kg += cartel.lab_week(rates, attempt, attempt_key, success_key)
    week.lab_seized_kg = seized_kg


def loads_north(model, week: int, trip: tuple, inspect_key: np.uint64) -> tuple[int, np.ndarray]:
    """Every cartel sends north what the expected return justifies, split across US entry
    routes by expected loss and cost, in loads of each entry's load size (world file
    `load_size_kg`, else the table's), and the loads go on their trip north in `week` (`trip`:
    the arguments of `sim.kernels.trade.fentanyl_week` between the loads and `inspect_key`), all
    in one kernel (`sim.kernels.cartels.loads_week`). Returns (loads sent, kg sent per US entry).

    The split is a logit of each route's utility -(risk_aversion x loss + route_cost_weight
    x cost share); a cartel then ships its sales target (at most its stock) times
    (expected share of value kept / that share at the prior loss)^deterrence_elasticity,
    capped at 1: when every route gets riskier it holds stock in Mexico (deterrence); when
    one does, the split moves to the others (displacement)."""
    table = rows(model)
    every = table.cartels
    stock, target = np.array([c.fentanyl_stock_kg for c in every]
                             + [c.target_kg_per_week for c in every], float).reshape(2, len(every))
    n_loads, by_entry, most = kernels.loads_week(*table.splits, stock, target, *table.loads,
                                                 week, *trip, inspect_key)
    layout.within_span(int(most), "loads to one US entry")
    for c, kept in zip(every, stock.tolist(), strict=True):
        c.fentanyl_stock_kg = kept
    return n_loads, by_entry


def observe(model) -> dict[str, float]:
    """This week's cartel columns: sums over the cartels in order, the mean strength summed as
    NumPy's mean sums (the world file lists at least one cartel)."""
    every = cartels(model)
    revenue_usd = made_kg = labs = raids = dismantled = 0
    strength = 0.0
    for c in every:
        revenue_usd += c.revenue_usd
        made_kg += c.made_kg
        labs += c.labs
        raids += c.raids_attempted
        dismantled += c.labs_raided
        strength += c.armed_strength
    if len(every) >= 8:   # below 8 numbers NumPy adds them in order from 0, as above
        strength = pairwise_sum(np.array([c.armed_strength for c in every], float))
    return {"cartel_revenue_usd": revenue_usd, "fentanyl_synthesized_kg": made_kg,
            "mexico_labs": float(labs), "mexico_lab_raids": float(raids),
            "mexico_labs_dismantled": float(dismantled),
            "cartel_armed_strength": strength / len(every)}
