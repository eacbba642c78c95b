"""`FentanylModel`: the frame that builds the actors and runs the week as an ordered list of
phases (`PHASES`). Every rule lives with its actor (`sim.actors`) or in a trade step
(`sim.trade`); docs/architecture.md shows where.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim import metrics, trade
from sim.actors import customs, regulators, retail, users
from sim.actors.buyers import SupplierLinks, buyers, buyers_adapt
from sim.actors.cartels import Cartel, labs_week
from sim.actors.customs import CustomsAgency, Posts
from sim.actors.mail_buyers import MailBuyer
from sim.actors.makers import Makers, makers_adapt
from sim.actors.regulators import ChinaRegulator, Controls
from sim.chemicals import load_chemicals
from sim.config import Scenario, as_scenario
from sim.kernels import layout
from sim.network import MAX_TRANSIT_WEEKS, trade_network
from sim.pipeline import Pipeline
from sim.policies import Levers
from sim.policies.base import policies_week
from sim.profiling import PhaseClock
from sim.recorder import Recorder, WeeklyCollector


@dataclass
class Week:
    """What one week's phases hand to each other (set by the phase named, read by later ones).

    trade (precursor_trade), lab_seized_kg (labs: kg seized in Mexican lab raids), loads_kg
    (fentanyl_movement: kg sent north per US entry), outcome (receive: the pipeline's
    `WeekOutcome`), delivered_us_kg (receive: kg reaching US retail), retail (market)."""

    number: int
    trade: trade.PrecursorTrade | None = None
    lab_seized_kg: float = 0.0
    loads_kg: np.ndarray | None = None
    outcome: object = None
    delivered_us_kg: float = 0.0
    retail: retail.Retail | None = None


@dataclass(frozen=True)
class Phase:
    """One step of the week: `run(model, week)`, timed under `name` by the phase clock."""

    name: str
    run: Callable


# the week, in order
PHASES = (
    Phase("policies", policies_week),                   # policies start, end; this week's levers
    Phase("regulators", regulators.regulators_week),    # controls adopted or detected
    Phase("customs", customs.customs_week),             # each post's seizure chance
    Phase("precursor_trade", trade.precursor_trade),    # orders filled, inspected, shipped
    Phase("labs", labs_week),                           # lab raids, synthesis
    Phase("fentanyl_movement", trade.move_fentanyl),    # loads north, inspected
    Phase("receive", trade.receive),                    # deliveries into stocks
    Phase("market", retail.market_week),                # dealers sell
    Phase("users", users.users_week),                   # use, overdose, treatment
    Phase("buyers_adapt", buyers_adapt),                # routes, suppliers, targets, labs, arms
    Phase("customs_adapt", customs.customs_adapt),      # inspections follow seizures
    Phase("makers_adapt", makers_adapt),                # raids, switches, entry
    Phase("un_watch", regulators.un_watch),             # the UN takes in the trade
    Phase("record", metrics.record),                    # the week's row
)


COMPILED: dict[str, tuple] = {}   # world, as JSON text -> (chemicals, trade network)


def compiled(world: dict):
    """The chemicals table and the world's compiled trade network, built once per process for
    each world (the last 8 kept): a study's runs share them, and nothing changes them during a
    run."""
    key = json.dumps(world, sort_keys=True, default=str)
    if key not in COMPILED:
        while len(COMPILED) >= 8:
            COMPILED.pop(next(iter(COMPILED)))
        COMPILED[key] = (load_chemicals(), trade_network(world))
    return COMPILED[key]


class FentanylModel(mesa.Model):
    """The model of a scenario. Mesa-native: `running` turns False at the horizon and
    `datacollector` is Mesa's DataCollector (every output column a model reporter), so
    `mesa.batch_run(FentanylModel, parameters={"users.naloxone_coverage": [0.3, 0.6],
    "seed": [1, 2], "weeks": 52})` works as it is."""

    def __init__(self, scenario: Scenario | str | Path = "baseline", seed: int | None = None,
                 weeks: int | None = None, **overrides):
        """`scenario`: a validated `Scenario`, a shipped scenario's name or a file path; `seed`
        and `weeks` (default: the scenario's) and dotted overrides as keyword arguments
        (`**{"users.naloxone_coverage": 0.6}`), each checked as in a scenario file."""
        scenario = as_scenario(scenario).with_overrides(overrides, seed=seed, weeks=weeks)
        super().__init__(seed=scenario.seed)
        self.scenario, self.seed, self.week = scenario, scenario.seed, 0
        self.params = params = scenario.parameters
        layout.check_sizes(params)   # parameters set after loading are checked here
        world = scenario.world
        self.chemicals, self.network = compiled(world)
        self.space = Network(self.network.graph, random=self.random)
        self.events: list = []
        self.controls = Controls(self.chemicals, self.events)
        self.posts = Posts(world)
        self.levers = Levers.from_params(params, len(self.posts))
        regulators.build(self, world)
        self.china = next(iter(self.agents_by_type[ChinaRegulator]))
        for a, (agency, posts) in enumerate(zip(world["customs_agencies"],
                                                self.posts.agency_posts, strict=True)):
            CustomsAgency(self, agency, self.cell(agency["posts"][0]["name"]), posts, a)
        mode_ok = (self.network.precursor_route >= 0).any(axis=2)
        self.makers = Makers.build(params["makers"], world, self.chemicals, mode_ok, self.seed)
        markets = [n for n in world["nodes"] if n["kind"] == "us_market"]
        share = np.array([n["population_share"] for n in markets], float)
        self.users = users.Users.build(params["users"], share, self.seed)
        pills = np.array([n.get("pill_share", params["market"]["pill_share"]) for n in markets])
        self.dealers = retail.Dealers(params["market"], params["users"], self.users.people_using,
                                      pills, params["cartels"]["pill_press_share_2016"])
        supply_kg = retail.initial_supply_kg(params["users"], params["market"])
        self.links = SupplierLinks(len(world["cartels"]), len(self.makers))
        for b, spec in enumerate(world["cartels"]):
            kind = Cartel if spec.get("lab_region") else MailBuyer
            kind(self, spec, b, self.cell(spec.get("lab_region") or spec["home"]),
                 spec["market_share"] * supply_kg)
        for buyer in buyers(self):
            buyer.first_links(self.makers, self.seed)
        self.pipeline = Pipeline(MAX_TRANSIT_WEEKS, len(self.network.routes.names),
                                 len(self.posts), self.chemicals.fentanyl)
        # each model gets its own copies: policies keep state (e.g. which firms they listed)
        self.policies = sorted(copy.deepcopy(scenario.policies),
                               key=lambda p: (p.order, p.start_week))
        for policy in self.policies:
            policy.setup(self)
        self.week_outcome = None   # the last week's pipeline outcome, for views
        self.recorder = Recorder(metrics.columns_for(self), scenario.weeks, scenario.start)
        self.datacollector = WeeklyCollector(self.recorder)
        # a `PhaseClock` set here times each phase of the week (`run.py profile`); off by
        # default: its laps cost more than some phases
        self.clock: PhaseClock | None = None
        self.shipments_inspected = 0   # consignments and loads, over the weeks run

    def cell(self, node: str):
        """The network cell (Mesa's discrete space) of a node, by name."""
        return self.space[self.network.node_index[node]]

    @property
    def date(self) -> dt.date:
        return self.scenario.start + dt.timedelta(weeks=self.week)

    def step(self) -> None:
        """One week: every phase in order."""
        week, clock = Week(self.week), self.clock
        if clock is None:
            for phase in PHASES:
                phase.run(self, week)
        else:
            clock.start()
            for phase in PHASES:
                phase.run(self, week)
                clock.lap(phase.name)
        self.week += 1
        self.running = self.week < self.scenario.weeks

    def run(self, weeks: int | None = None, progress=None) -> None:
        """Run `weeks` steps (default: the scenario's horizon); `progress` is called each week."""
        for _ in range(self.scenario.weeks if weeks is None else weeks):
            self.step()
            if progress is not None:
                progress()
