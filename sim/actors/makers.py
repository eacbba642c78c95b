"""Precursor makers: chemical firms (most in China, some in India) selling to illicit buyers.

A structure of arrays, one slot per firm (inactive slots are room for entrants).
State per slot: active, country, region, chemical, shipping mode, online, sanctioned, compliance,
capacity_kg_per_week, sales_kg; this week's capacity, enforcement pressure and whether each
firm's chemical is controlled where it operates; the share of ordered kg the trade filled.
Weekly rules: this week's capacity after sanctions and the regulators' pressure
(`sim.kernels.makers.begin_week`) and orders filled or refused in a random queue
(`sim.kernels.makers.serve`), both in the trade's compiled pass
(`sim.kernels.trade.precursor_week`); `adapt` (raids, switching to an uncontrolled analog or
quitting, re-registering, takedowns and entry: `adapt_week`, which runs `raid_and_switch`,
`maker_week` and `delist`; entrants by `create`: kernels `firm_draws`, `lognormal_exponent`
(between NumPy's log, cos and exp), then `entrant_firms`: `new_firms` and `settle_entrants`).
Parameters: `PARAMS` (group `makers`). Columns: `COLUMNS`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaincinv

from sim.actors.population import Population
from sim.countries import CHINA, COUNTRIES
from sim.kernels import layout, rng
from sim.kernels.makers import (
    adapt_week,
    columns,
    entrant_firms,
    firm_draws,
    lognormal_exponent,
    new_firms,
)
from sim.parameter import ASSUMPTION, Param

PARAMS: dict[str, Param] = {
    "firms": Param(1_500, "firms", "assumption: 'small chemical and pharmaceutical companies' "
                   "(seed article 000), 1,000-2,000", 1, 1_000_000),
    "slot_headroom": Param(2.0, "slots per initial firm", "assumption: spare slots for "
                           "entrants", 1.0, 10.0),
    "capacity_kg_per_week_median": Param(1.0, "kg/week", ASSUMPTION, 0.001, 10_000.0),
    "capacity_log_sd": Param(1.0, "log-sd", ASSUMPTION, 0.0, 3.0),
    "compliance_mean": Param(0.4, "0-1", ASSUMPTION, 0.0, 1.0),
    "compliance_concentration": Param(4.0, "beta a+b", ASSUMPTION, 0.1, 1000.0),
    "online_share": Param(0.6, "share of firms selling on online marketplaces",
                          "assumption; NPR on Alibaba listings (seed article 004)", 0.0, 1.0),
    "mail_share": Param(0.4, "share of firms shipping by mail/express",
                        "seed article 004 (mail, express)", 0.0, 1.0),
    "air_share": Param(0.3, "share shipping by air cargo (rest by sea)", ASSUMPTION, 0.0, 1.0),
    "finished_share_2016": Param(0.3, "share of firms selling finished fentanyl-related "
                                 "substances in 2016", "assumption; seed article 004 (China "
                                 "shipped finished fentanyl before May 2019)", 0.0, 1.0),
    "switch_lag_weeks": Param(12.0, "weeks (mean)", "assumption: makers switch to the next "
                              "analog of the same class within months (INCB)", 1.0, 520.0),
    "new_route_lag_weeks": Param(40.0, "weeks (mean)", "assumption: moving to another "
                                 "analog class needs a new synthesis route", 1.0, 1000.0),
    "entry_per_week_max": Param(4.0, "firms/week at full unmet demand", ASSUMPTION, 0.0, 1000.0),
    "raid_rate": Param(0.01, "1/week at full enforcement, controlled chemical", ASSUMPTION,
                       0.0, 1.0),
    "online_raid_exposure": Param(1.5, "raid multiplier for online sellers", ASSUMPTION,
                                  1.0, 10.0),
}

COLUMNS = {
    "active_precursor_makers": ("firms", "mean"),
    "sanctioned_makers": ("firms on the sanctions list under their current name", "mean"),
    "sanctioned_makers_sales_kg": ("kg/week shipped by sanctioned firms", "sum"),
}


class Makers(Population):
    """Precursor makers, one slot per firm.

    Per slot: active (uint8: 1 while the firm sells to illicit buyers), country (uint8: index
    into COUNTRIES), region (int16: the world's maker_regions), chemical (int16: the chemicals
    table), mode (uint8: 0 mail/express, 1 air cargo, 2 sea cargo), online (uint8: sells through
    online marketplaces), sanctioned (uint8: on the US sanctions list under its current name),
    compliance (float32, 0-1: willingness to refuse controlled business),
    capacity_kg_per_week (float32: kg of its chemical a week), sales_kg (float32: kg shipped in
    the last week)."""

    slot_arrays = ("active", "country", "region", "chemical", "mode", "online", "sanctioned",
                   "compliance", "capacity_kg_per_week", "sales_kg")

    def __init__(self, n: int):
        """n empty slots."""
        self.active, self.country = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
        self.region, self.chemical = np.zeros(n, np.int16), np.zeros(n, np.int16)
        self.mode, self.online = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
        self.sanctioned, self.compliance = np.zeros(n, np.uint8), np.zeros(n, np.float32)
        self.capacity_kg_per_week, self.sales_kg = np.zeros(n, np.float32), np.zeros(n, np.float32)

    @classmethod
    def build(cls, params: dict, world: dict, chemicals, mode_ok: np.ndarray, seed: int) -> Makers:
        """The model's firms: `params["firms"]` created in regions by their shares, each making
        a precursor drawn by the 2016 shares of the chemicals table; a share of Chinese firms
        sell finished fentanyl-related substances instead (seed article 004). mode_ok[region,
        mode]: modes with a route from that region."""
        regions = world["maker_regions"]
        makers = cls(layout.maker_slots(params["firms"], params["slot_headroom"]))
        makers.params, makers.mode_ok = params, mode_ok
        # the rules' rates, per week (`adapt`)
        makers.online_exposure = params["online_raid_exposure"]
        # `adapt_week`'s rates (entry cap, raid rate, switches per week); the unmet share and
        # the levers' are filled in each week
        makers.rates = np.array([params["entry_per_week_max"], 0.0, float(params["raid_rate"]),
                                 1.0 / params["switch_lag_weeks"],
                                 1.0 / params["new_route_lag_weeks"], 0.0, 0.0, 0.0])
        # a new firm's draws (`create`)
        mean, conc = params["compliance_mean"], params["compliance_concentration"]
        makers.compliance_beta = (mean * conc, (1 - mean) * conc)
        makers.capacity_median = params["capacity_kg_per_week_median"]
        makers.capacity_log_sd = params["capacity_log_sd"]
        makers.online_share = float(params["online_share"])
        makers.mode_share = np.array([params["mail_share"], params["air_share"],
                                      max(0.0, 1 - params["mail_share"] - params["air_share"])])
        makers.region_share = np.array([r["share"] for r in regions], float)
        country_of = {n["name"]: n["country"] for n in world["nodes"]}
        makers.region_country = np.array([COUNTRIES.index(country_of[r["name"]])
                                          for r in regions])
        slots = np.arange(params["firms"])
        u = rng.draws(seed, rng.SETUP, 0, layout.maker_index(slots, 7))
        cum = np.cumsum(chemicals.makers_2016) / chemicals.makers_2016.sum()
        precursor = np.minimum(np.searchsorted(cum, u, "right"), cum.size - 1)
        finished = np.flatnonzero(chemicals.finished)[0]
        v = rng.draws(seed, rng.SETUP, 0, layout.maker_index(slots, 6))
        # `new_firms`' arguments after the chemicals (`entrant_firms`' after the substitutes):
        # the draw parameters and the slot arrays, updated in place
        makers.firm_arrays = (makers.region_share, makers.mode_share, makers.mode_ok,
                              makers.region_country, makers.online_share, makers.active,
                              makers.country, makers.region, makers.chemical, makers.mode,
                              makers.online, makers.sanctioned, makers.compliance,
                              makers.capacity_kg_per_week, makers.sales_kg)
        makers.create(slots, seed, rng.SETUP, 0, precursor)
        chinese = makers.country[slots] == CHINA
        makers.chemical[slots[chinese & (v < params["finished_share_2016"])]] = finished
        makers.capacity_kg = makers.capacity_kg_per_week.astype(np.float64)
        makers.pressure = np.zeros(len(makers))
        makers.chemical_controlled = np.zeros(len(makers), bool)
        makers.raid_prob, makers.switch_hazard = np.zeros(len(makers)), np.zeros(len(makers))
        makers.substitute = np.zeros(len(makers), np.int16)   # this week's, see `adapt`
        makers.filled_share = 1.0
        # `adapt_week`'s slot arrays (never rebound: updated in place)
        makers.adapt_arrays = (makers.active, makers.chemical, makers.sanctioned,
                               makers.compliance, makers.online,
                               makers.chemical_controlled.view(np.uint8), makers.pressure,
                               makers.sales_kg, makers.country, makers.raid_prob,
                               makers.switch_hazard, makers.substitute)
        return makers

    def create(self, slots: np.ndarray, seed: int, stream: int, week: int,
               chemical: np.ndarray, substitutes: np.ndarray | None = None) -> None:
        """Fill `slots` with new firms making `chemical` (per slot), or, given `substitutes`,
        their region's first uncontrolled precursor (`entrant_firms`); attributes drawn from
        counter-based streams keyed on the slot, so a firm's draws do not depend on how many
        others are created."""
        if slots.size == 0:
            return
        u, floored, angle = firm_draws(rng.stream_key(seed, stream, week), slots,
                                       layout.MAKER_DRAWS, 6)
        # capacity (lognormal, Box-Muller) and compliance (beta) from NumPy's and SciPy's
        # functions: compiled code's exp, log and cos can round differently in the last bit
        exponent = lognormal_exponent(np.log(floored), np.cos(angle), self.capacity_log_sd)
        capacity = self.capacity_median * np.exp(exponent)
        compliance = beta_quantile(u[4], *self.compliance_beta)
        if substitutes is None:
            new_firms(slots, u, capacity, compliance, chemical.astype(np.int64),
                      *self.firm_arrays)
        else:
            entrant_firms(slots, u, capacity, compliance, chemical.astype(np.int64),
                          substitutes, *self.firm_arrays)

    def adapt(self, levers, substitutes: np.ndarray, same_class: np.ndarray, seed: int,
              week: int) -> None:
        """Raids, switches, quits, re-registration, listings taken down, and entry
        (`sim.kernels.makers.adapt_week`).

        substitutes[country]: the first uncontrolled precursor there (-1 if none);
        same_class[a, b]: chemicals a and b share an analog class."""
        # entrants: entry_per_week_max at full unmet demand (the share of ordered kg the trade
        # did not fill), in proportion below it; slots emptied this week refill next week.
        # Regulators raid makers of controlled chemicals; joint operations also hit makers
        # known to supply cartels, controlled chemical or not. A substitute in the same analog
        # class is a quick change of recipe; another class means a new synthesis route and
        # takes longer
        rates = self.rates
        rates[1] = 1.0 - self.filled_share
        rates[5] = self.online_exposure * levers.online_raid_multiplier
        rates[6], rates[7] = levers.relist_hazard, levers.online_delist_hazard
        keys = rng.keys_of_week(seed, week)
        free, _ = adapt_week(*self.adapt_arrays, substitutes, same_class,
                             levers.maker_raid_multiplier, levers.supplier_raid_rate, rates, keys)
        if free.size:
            self.enter(free, substitutes, seed, week)

    def enter(self, free: np.ndarray, substitutes: np.ndarray, seed: int, week: int) -> None:
        """New firms take the `free` slots, each making its region's first uncontrolled
        precursor (none enters a region without one)."""
        self.create(free, seed, rng.ENTRANT, week, np.zeros(free.size, np.int16), substitutes)

    def observe(self) -> dict[str, float]:
        """This week's columns."""
        active, sanctioned, sanctioned_kg = columns(self.active, self.sanctioned, self.sales_kg)
        return {"active_precursor_makers": active, "sanctioned_makers": sanctioned,
                "sanctioned_makers_sales_kg": sanctioned_kg}


def beta_quantile(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Beta(a, b) quantiles (inverse-CDF draws from uniforms)."""
    return betaincinv(max(a, 1e-6), max(b, 1e-6), u)


def makers_adapt(model, week) -> None:
    """Phase: makers face raids, switch or quit, re-register; new firms enter."""
    substitutes = model.controls.substitutes(model.date)
    model.makers.adapt(model.levers, substitutes, model.chemicals.same_class, model.seed,
                       week.number)
