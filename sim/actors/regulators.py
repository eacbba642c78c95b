"""Drug-control regulators, as Mesa agents, and the chemical controls they keep.

- `Controls`: which chemicals each country (and the UN) controls; a change is an `Event`.
- `NationalRegulator` (the US, Mexico, India): adopts UN controls after a lag.
- `ChinaRegulator`: as a national regulator, with a lag that shortens with its cooperation with
  the US; cooperation moves toward a target that diplomacy sets (policies shift or cap it), and
  enforcement against makers rises with cooperation.
- `UNCommission` (the Commission on Narcotic Drugs): controls a precursor once the evidence on it
  reaches the detection lag: each week it is a large share of the trade counts one week, plus one
  more per `detection_seizure_kg` of it seized and tested that week.
The rules that schedule chemicals by themselves (UN detection, national adoption) decide only while
a regulator's `rules_act`; the policy `recorded_history` turns it off while dated events replay the
record, and the evidence and clocks keep running meanwhile.
Also here: each country's enforcement level (`enforcement`) and the pressure it puts on makers
(`enforcement_on_makers`). Parameters: `PARAMS` (group `regulators`). Columns: `COLUMNS`.
"""

from __future__ import annotations

import bisect
import datetime as dt

import numpy as np
from mesa.discrete_space import FixedAgent

from sim.actors import clip, per_model, registered
from sim.countries import CHINA, COUNTRIES, INDIA, UN
from sim.events import ADOPTED_UN_CONTROL, CONTROL, DECONTROL, UN_DETECTION, Event
from sim.kernels.regulators import (
    adoption_clocks_rows,
    evidence_and_clocks,
    first_uncontrolled,
    un_evidence,
    watch,
)
from sim.parameter import ASSUMPTION, Param

PARAMS: dict[str, Param] = {
    "china_cooperation_initial": Param(0.6, "0-1", "assumption: working cooperation in 2016 "
                                       "(Brookings, via seed article 004)", 0.0, 1.0),
    "china_cooperation_base": Param(0.55, "0-1", ASSUMPTION, 0.0, 1.0),
    "china_cooperation_adjust_rate": Param(0.05, "1/week", ASSUMPTION, 0.0, 1.0),
    "china_enforcement_min": Param(0.15, "0-1 at cooperation 0", ASSUMPTION, 0.0, 1.0),
    "china_enforcement_max": Param(0.9, "0-1 at cooperation 1", ASSUMPTION, 0.0, 1.0),
    "india_enforcement": Param(0.4, "0-1", ASSUMPTION, 0.0, 1.0),
    "watchlist_pressure_share": Param(0.15, "share of full pressure on uncontrolled "
                                      "chemicals", "assumption: know-your-customer checks "
                                      "and watch lists (BIS testimony, Dec 2023)", 0.0, 1.0),
    "un_detection_lag_weeks": Param(200, "weeks", "assumption: 4-AP became common about 2018, "
                                    "UN control Nov 2022 (events.csv)", 1, 2000),
    "detection_seizure_kg": Param(20.0, "kg seized per extra week of evidence",
                                  "assumption: seized and tested samples speed up listing",
                                  0.001, 1e9),
    "detection_share_threshold": Param(0.15, "share of precursor kg shipped", ASSUMPTION,
                                       0.0, 1.0),
    "un_share_memory_rate": Param(0.1, "1/week", "assumption: weight of the latest week in "
                                  "the precursor shares the UN watches", 0.0, 1.0),
    "china_adoption_lag_weeks": Param(17, "weeks after UN control at cooperation 1",
                                      "events.csv: NPP/ANPP UN Oct 2017 -> China Feb 2018",
                                      0, 2000),
    "china_adoption_lag_weeks_uncooperative": Param(95, "weeks at cooperation 0",
                                                    "events.csv: 4-AP UN Nov 2022 -> China "
                                                    "Sep 2024", 0, 2000),
    "mexico_adoption_lag_weeks": Param(26, "weeks after UN control", ASSUMPTION, 0, 2000),
    "india_adoption_lag_weeks": Param(52, "weeks after UN control", ASSUMPTION, 0, 2000),
    "us_adoption_lag_weeks": Param(13, "weeks after UN control", ASSUMPTION, 0, 2000),
}

COLUMNS = {
    "china_cooperation": ("0-1", "mean"),
    "china_enforcement": ("0-1", "mean"),
    "chemicals_controlled_in_china": ("chemicals", "mean"),
}


class Controls:
    """controlled[country, product]: whether the country (or the UN, `UN`) controls the product
    (a chemical of the table, or fentanyl, the last product, controlled everywhere)."""

    def __init__(self, chemicals, events: list):
        """Controls at the start (the chemicals table's `controlled_at_start`); changes are
        appended to `events`."""
        self.chemicals, self.events = chemicals, events
        self.controlled = np.zeros((len(COUNTRIES), chemicals.fentanyl + 1), bool)
        self.controlled[:, chemicals.fentanyl] = True
        for c, who in enumerate(chemicals.controlled_at_start):
            for country in who:
                self.controlled[COUNTRIES.index(country), c] = True
        self.available_dates = sorted(chemicals.available_from)
        self.changes = 0   # changes made by `set` (the only way `controlled` changes)
        self.substitutes_key, self.substitutes_now = None, None   # see `substitutes`

    def set(self, country: int, products: list[int], value: bool, week: int, cause: str,
            policy: str = "", data: dict[str, float] | None = None) -> None:
        """Control (or decontrol) products in a country from `week`, for `cause` (an event
        cause, `sim.events`), decided by the policy labelled `policy` or by a rule that computed
        `data`."""
        changed = [c for c in products if self.controlled[country, c] != value]
        if not changed:
            return
        self.controlled[country, changed] = value
        self.changes += 1
        self.events.append(Event(week, CONTROL if value else DECONTROL, (COUNTRIES[country],),
                                 tuple(self.chemicals.names[c] for c in changed), cause, policy,
                                 tuple((data or {}).items())))

    def substitutes(self, day: dt.date) -> np.ndarray:
        """Per country: the first precursor in substitution order that is available on `day`
        and not controlled there (-1 if none)."""
        chem = self.chemicals
        # kept while the controls and the chemicals on offer stay the same (chemicals only
        # become available: how many dates have passed says which)
        key = (self.changes, bisect.bisect_right(self.available_dates, day))
        if key != self.substitutes_key:
            self.substitutes_key = key
            self.substitutes_now = first_uncontrolled(self.controlled,
                                                      ~chem.finished & chem.available(day))
        return self.substitutes_now


class Regulator(FixedAgent):
    """A drug-control authority of `COUNTRIES[country]` (or the UN)."""

    def __init__(self, model, spec: dict, country: int, cell):
        super().__init__(model)
        self.name, self.country, self.cell = spec["name"], country, cell
        self.rules_act = True   # its own scheduling rules decide (off: `recorded_history`)
        self.params = model.params["regulators"]   # the scenario's (read-only) group


class NationalRegulator(Regulator):
    """Adopts each UN control after `adoption_lag_weeks` (a progress clock per chemical)."""

    LAG = {"india": "india_adoption_lag_weeks", "mexico": "mexico_adoption_lag_weeks",
           "us": "us_adoption_lag_weeks"}

    def __init__(self, model, spec: dict, country: int, cell):
        super().__init__(model, spec, country, cell)
        self.adoption_progress = np.zeros(model.chemicals.fentanyl + 1)
        self.weeks_pending = np.zeros(model.chemicals.fentanyl + 1)  # UN-controlled, not here
        lag = self.LAG.get(COUNTRIES[country])
        self.lag_weeks = None if lag is None else self.params[lag]   # China's: by cooperation

    def adoption_lag_weeks(self) -> float:
        return self.lag_weeks

    def begin_week(self) -> float:
        """This week's adoption lag (weeks), after what the regulator's own state does first."""
        return self.adoption_lag_weeks()

    def adopt_due(self, lag: float) -> None:
        """Adopt the UN controls whose clock reached 1 (while the rule acts), one event per UN
        listing (chemicals pending the same number of weeks). Each UN control not adopted here
        yet advances its adoption clock by 1 / lag a week (`NationalClocks.week`)."""
        if not self.rules_act:
            return
        due = self.adoption_progress >= 1.0
        for weeks in np.unique(self.weeks_pending[due]):   # one event per UN listing
            listed = np.flatnonzero(due & (self.weeks_pending == weeks)).tolist()
            self.model.controls.set(self.country, listed, True, self.model.week,
                                    ADOPTED_UN_CONTROL, data={"weeks_pending": float(weeks),
                                                              "lag_weeks": float(lag)})


class ChinaRegulator(NationalRegulator):
    """China's regulator: cooperation with the US (0-1) and enforcement against makers (0-1)."""

    def __init__(self, model, spec: dict, country: int, cell):
        super().__init__(model, spec, country, cell)
        p = self.params   # the rules' numbers, read once (the group is read-only)
        self.cooperation = p["china_cooperation_initial"]
        self.cooperation_base = p["china_cooperation_base"]
        self.cooperation_adjust_rate = p["china_cooperation_adjust_rate"]
        self.lag_uncooperative = p["china_adoption_lag_weeks_uncooperative"]
        self.lag_cooperative = p["china_adoption_lag_weeks"]
        self.enforcement_min = p["china_enforcement_min"]
        self.enforcement_span = p["china_enforcement_max"] - p["china_enforcement_min"]
        self.update_enforcement(model.levers)

    def adoption_lag_weeks(self) -> float:
        """Between the cooperative and the uncooperative lag, by cooperation."""
        coop = self.cooperation
        return self.lag_uncooperative * (1 - coop) + self.lag_cooperative * coop

    def begin_week(self) -> float:
        """Cooperation moves toward the diplomatic target; then this week's adoption lag."""
        levers = self.model.levers
        target = min(levers.cooperation_cap,
                     clip(self.cooperation_base + levers.cooperation_shift, 0, 1))
        self.cooperation += self.cooperation_adjust_rate * (target - self.cooperation)
        return self.adoption_lag_weeks()

    def update_enforcement(self, levers) -> None:
        """Enforcement rises with cooperation from its minimum to its maximum, plus what a deal
        adds."""
        self.enforcement = min(1.0, self.enforcement_min + self.cooperation * self.enforcement_span
                               + levers.china_enforcement_bonus)


class UNCommission(Regulator):
    """The UN drug commission: watches each precursor's share of the trade and what is seized."""

    def __init__(self, model, spec: dict, country: int, cell):
        super().__init__(model, spec, country, cell)
        n_chemicals = model.chemicals.fentanyl
        self.precursor_share_ema = np.zeros(n_chemicals)   # what it sees of the trade
        self.seized_kg_by_chemical = np.zeros(n_chemicals)  # last week's seizures, tested
        # evidence: weeks in a row above the threshold, and the extra weeks seizures added to them
        self.prominent_weeks = np.zeros(n_chemicals)
        self.seizure_weeks = np.zeros(n_chemicals)
        self.memory_rate = float(self.params["un_share_memory_rate"])   # 1/week, see `watch`
        p = self.params   # `un_evidence`'s threshold share, kg per extra week, lag weeks
        self.evidence_rule = (float(p["detection_share_threshold"]),
                              float(p["detection_seizure_kg"]), float(p["un_detection_lag_weeks"]))

    def step(self) -> None:
        """Weeks of evidence on each prominent precursor; a chemical whose evidence reaches the
        detection lag is listed (while the rule acts), each with the numbers that listed it."""
        self.list_due(un_evidence(self.prominent_weeks, self.seizure_weeks,
                                  self.precursor_share_ema, self.seized_kg_by_chemical,
                                  *self.evidence_rule, self.model.controls.controlled[UN, :-1]))

    def list_due(self, due: np.ndarray) -> None:
        """List the precursors `due` (bool per precursor), while the rule acts."""
        if not self.rules_act:
            return
        p, controls = self.params, self.model.controls
        for c in np.flatnonzero(due):
            controls.set(UN, [int(c)], True, self.model.week, UN_DETECTION, data={
                "share": float(self.precursor_share_ema[c]),
                "threshold": p["detection_share_threshold"],
                "prominent_weeks": float(self.prominent_weeks[c]),
                "seizure_weeks": float(self.seizure_weeks[c]),
                "lag_weeks": p["un_detection_lag_weeks"]})

    def watch(self, shipped_kg_by_chemical: np.ndarray, seized_kg_by_chemical: np.ndarray,
              finished: np.ndarray) -> None:
        """Exponential average of each chemical's share of precursor kg shipped (finished
        substances are not precursors), and the week's seizures by chemical."""
        watch(self.precursor_share_ema, shipped_kg_by_chemical, finished, self.memory_rate)
        self.seized_kg_by_chemical = seized_kg_by_chemical


def build(model, world: dict) -> None:
    """One regulator agent per world-file entry, on a node of its country (or the first
    node); the UN and China get their own classes."""
    classes = {UN: UNCommission, CHINA: ChinaRegulator}
    first = model.network.node_index[world["nodes"][0]["name"]]
    for spec in world["regulators"]:
        country = COUNTRIES.index(spec["country"])
        nodes = [n["name"] for n in world["nodes"] if n.get("country") == spec["country"]]
        cell = model.space[model.network.node_index[nodes[0]] if nodes else first]
        classes.get(country, NationalRegulator)(model, spec, country, cell)


def regulators(model) -> list[Regulator]:
    """Every regulator, from Mesa's registry, in the world file's order."""
    return registered(model, Regulator)


# countries whose `enforcement` moves during a run (China's cooperation, Mexico's lever)
ENFORCEMENT_MOVES = ("china", "mexico")


def enforcement(model, country: str) -> float | None:
    """A country's enforcement against the trade (0-1): China's from its regulator, India's
    from the table, Mexico's this week's lever; None for a country without one."""
    if country == "china":
        return model.china.enforcement
    if country == "india":
        return model.params["regulators"]["india_enforcement"]
    if country == "mexico":
        return model.levers.mexico_enforcement
    return None


def enforcement_on_makers(model) -> tuple[np.ndarray, float]:
    """Enforcement against makers per country (0-1: China's and India's, 0 elsewhere), and the
    share of it a maker feels when its chemical is not controlled where it operates (watch
    lists); `sim.kernels.makers.begin_week` turns them into each firm's pressure. The array is
    the model's: India's level set once, China's (the only one that moves during a run) each
    call."""
    def build():
        by_country = np.zeros(len(COUNTRIES))
        by_country[INDIA] = enforcement(model, "india")
        return by_country, float(model.params["regulators"]["watchlist_pressure_share"])

    by_country, _ = kept = per_model(model, "_enforcement_on_makers", build)
    by_country[CHINA] = model.china.enforcement
    return kept


def regulators_week(model, week) -> None:
    """Phase: regulators act in the world file's order (a UN control listed this week starts
    the national clocks at once); China's enforcement follows its cooperation."""
    for group in _week_order(model)[0]:
        if isinstance(group, Regulator):
            group.step()
        else:
            group.week(model.controls.controlled)
    model.china.update_enforcement(model.levers)


class NationalClocks:
    """National regulators next to each other in the world file's order, their adoption clocks
    rows of one array each (`adoption_progress`, `weeks_pending` are views of a row), advanced
    in one kernel call a week. No regulator's clock reads another's country, so together is
    the same as one after the other."""

    def __init__(self, members: list[NationalRegulator]):
        self.members = members
        self.countries = np.array([r.country for r in members], np.int64)
        self.progress = np.array([r.adoption_progress for r in members])
        self.weeks_pending = np.array([r.weeks_pending for r in members])
        for r, progress, pending in zip(members, self.progress, self.weeks_pending, strict=True):
            r.adoption_progress, r.weeks_pending = progress, pending
        self.lag_weeks = np.zeros(len(members))   # this week's lags, refilled (`lags`)
        self.numbered = list(enumerate(members))

    def week(self, controlled: np.ndarray) -> None:
        """Each member's `begin_week` in order, their clocks (`adoption_clocks_rows`), then
        each adopts what is due (`adopt_due`)."""
        lags = self.lags()
        self.adopt(lags, adoption_clocks_rows(self.progress, self.weeks_pending, controlled, UN,
                                              self.countries, lags))

    def lags(self) -> np.ndarray:
        """Each member's `begin_week` in order: this week's adoption lags (weeks; the group's
        array, refilled each call)."""
        lags = self.lag_weeks
        for i, r in self.numbered:
            lags[i] = r.begin_week()
        return lags

    def adopt(self, lags: np.ndarray, due: np.ndarray) -> None:
        """Each member whose clocks have a control `due` adopts it (`adopt_due`)."""
        flags = due.tolist()
        if True not in flags:
            return
        for r, lag, r_due in zip(self.members, lags.tolist(), flags, strict=True):
            if r_due:
                r.adopt_due(lag)


class EvidenceAndClocks:
    """The UN commission followed in the world file's order by a `NationalClocks` group: the
    UN's evidence and the national clocks advance in one kernel call a week
    (`evidence_and_clocks`), except in a week the UN lists a chemical, when the clocks run
    after the listing, as they would one after the other. The members' `begin_week` comes
    first: it reads only the levers, and the UN's evidence does not read it."""

    def __init__(self, un: UNCommission, clocks: NationalClocks):
        self.un, self.clocks = un, clocks
        # the kernel's arrays that are updated in place, never rebound
        self.evidence = (un.prominent_weeks, un.seizure_weeks, un.precursor_share_ema)
        self.clock_rows = (clocks.progress, clocks.weeks_pending)

    def week(self, controlled: np.ndarray) -> None:
        """The members' lags, then the UN's evidence and the clocks; a UN listing in between
        when one is due (`UNCommission.list_due`); then adoptions (`NationalClocks.adopt`)."""
        un, clocks = self.un, self.clocks
        lags = clocks.lags()
        due, clocks_due, ran = evidence_and_clocks(
            *self.evidence, un.seized_kg_by_chemical, *un.evidence_rule, un.rules_act,
            *self.clock_rows, controlled, UN, clocks.countries, lags)
        if not ran:
            un.list_due(due)
            clocks_due = adoption_clocks_rows(clocks.progress, clocks.weeks_pending, controlled,
                                              UN, clocks.countries, lags)
        clocks.adopt(lags, clocks_due)


def _week_order(model) -> tuple[list, list[UNCommission]]:
    """The regulators in the world file's order, national ones next to each other grouped in
    `NationalClocks`, a UN commission and the group after it in `EvidenceAndClocks`; and the
    UN commissions. Made once per model (`per_model`)."""
    return per_model(model, "_regulators_week_order", lambda: _grouped(regulators(model)))


def _grouped(every: list[Regulator]) -> tuple[list, list[UNCommission]]:
    """`_week_order` of the regulators `every`, in order."""
    order = []
    for regulator in every:
        if not isinstance(regulator, NationalRegulator):
            order.append(regulator)
        elif (order and isinstance(order[-1], list)
              and regulator.country not in [r.country for r in order[-1]]):
            order[-1].append(regulator)
        else:
            order.append([regulator])
    grouped = []
    for g in order:
        if not isinstance(g, list):
            grouped.append(g)
        elif grouped and isinstance(grouped[-1], UNCommission):
            grouped[-1] = EvidenceAndClocks(grouped[-1], NationalClocks(g))
        else:
            grouped.append(NationalClocks(g))
    return grouped, [r for r in every if isinstance(r, UNCommission)]


def un_watch(model, week) -> None:
    """Phase: the UN commission takes in the week's trade and seizures by chemical."""
    for regulator in _week_order(model)[1]:
        regulator.watch(week.trade.by_chemical_kg, week.outcome.seized_kg_by_chemical,
                        model.chemicals.finished)


def observe(model) -> dict[str, float]:
    """This week's regulator columns."""
    return {"china_cooperation": model.china.cooperation,
            "china_enforcement": model.china.enforcement,
            "chemicals_controlled_in_china": float(model.controls.controlled[CHINA, :-1].sum())}
