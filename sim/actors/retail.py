"""US retail dealers: each market region's dealers hold fentanyl stock, sell it to users as
counterfeit pills and powder, and trade stock with other regions.

State per region: stock (kg pure), stock on its way from other regions, this week's price
(US$/mg pure) and market outcome.
Weekly rules (`Dealers.clear`; the per-region work compiled in `sim.kernels.market`):
- `clear`: dealers sell at a potency that follows their supply. Supply cover c = mg pure they
  offer / mg users want at the reference dose; they pass c^cut_elasticity into potency (mg per
  dose, so pill strength and powder purity), within bounds, and the rest into the share of
  doses that contain fentanyl (the others are heroin). A shortage thus cuts the product
  (weaker, more variable) and rations it; a glut strengthens it. The price rises with the
  shortage.
- `trade` (before selling): wholesale stock moves from regions whose
  price is below the national mean toward regions whose price is above it, when the gap beats
  the cost of moving it, arriving the next week.
Parameters: `PARAMS` (group `market`; the reference and maximum dose are the users' group).
Columns: `COLUMNS`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from sim.actors.cartels import pill_press_share
from sim.kernels import market as kernels
from sim.kernels.market import MG_PER_KG
from sim.parameter import ASSUMPTION, CAULKINS_KILMER, FITTED, Param

PARAMS: dict[str, Param] = {
    "retail_price_ref_usd_per_mg": Param(3.0, "US$/mg pure", CAULKINS_KILMER, 0.01, 1000.0),
    "price_scarcity_exponent": Param(0.5, "dimensionless", "assumption: price rises with the "
                                     "square root of shortage", 0.0, 3.0),
    "fentanyl_share_2016": Param(0.1, "share of retail doses containing fentanyl in 2016",
                                 "assumption after RAND RR3117 (fentanyl spread through "
                                 "eastern heroin markets from 2014)" + FITTED, 0.0, 1.0),
    "retail_turnover": Param(0.5, "share of retail stock sold per week", ASSUMPTION, 0.01, 1.0),
    "wholesale_price_ref_usd_per_kg": Param(130_000, "US$/kg pure at the US border",
                                            "about $9,000 per kg of product at ~7% purity in the "
                                            "US southwest, c.2017 (Albuquerque Journal; DEA "
                                            "NDTA 2019: bulk loads <10% pure); "
                                            "docs/sources.md", 100, 1e7),
    "cut_elasticity": Param(0.5, "d log potency / d log supply cover",
                            "assumption: dealers pass part of a shortage into weaker product and "
                            "part into rationing (0: ration only; 1: cut only)", 0.0, 1.0),
    "potency_ratio_min": Param(0.25, "x the reference mg per dose", "assumption: the weakest "
                               "product dealers sell before they stop selling fentanyl",
                               0.01, 1.0),
    "cut_sigma_gain": Param(0.3, "log-sd added per unit log cut", "assumption: cut product is "
                            "mixed less evenly (DEA: potency varies widely between pills)",
                            0.0, 5.0),
    "pill_share": Param(0.49, "share of fentanyl doses sold as counterfeit pills when cartels "
                        "press all they make", "HIDTA seizure events in pill form, 2023 "
                        "(Palamar et al., IJDP 2024), a proxy for the share by weight; a US "
                        "market node's `pill_share` in the world file replaces it for that "
                        "region", 0.0, 1.0),
    "powder_purity_ref": Param(0.14, "pure share of retail powder by weight at the reference "
                               "dose", "DEA: mean powder purity about 14% in 2021 (19.2% in "
                               "2022 was a 33% rise), 5.3% in 2018, 11.4% in 2024 "
                               "(data/observed/fentanyl_purity.csv)", 0.001, 1.0),
    "pill_weight_mg": Param(100.0, "mg per counterfeit pill (product)", "assumption: an "
                            "oxycodone M30 look-alike of about 0.1 g (no published weight found, "
                            "docs/sources.md)", 10.0, 1000.0),
    "border_powder_purity": Param(0.08, "pure share of fentanyl powder seized at the border",
                                  "DEA NDTA 2019: bulk powder from Mexico tests under 10% pure; "
                                  "about 7% for seized kilograms c.2017 (Albuquerque Journal)",
                                  0.001, 1.0),
    "regional_trade_rate": Param(1.0, "share of a region's stock above its share sent a week",
                                 "assumption: wholesale stock moves between regions within "
                                 "weeks", 0.0, 1.0),
    "regional_trade_cost_share": Param(0.1, "price gap (share of the national mean) that "
                                       "moving stock costs", "assumption: transport and risk "
                                       "of moving stock between regions", 0.0, 10.0),
}

COLUMNS = {
    "retail_price_usd_per_mg": ("US$/mg pure", "mean"),
    "fentanyl_sold_kg": ("kg pure/week sold to users", "sum"),
    "fentanyl_share_of_doses": ("share of retail doses containing fentanyl", "mean"),
    "fentanyl_mg_per_dose": ("mg pure in a fentanyl dose", "mean"),
    "fentanyl_purity": ("pure share of retail powder by weight (0-1)", "mean"),
    "pill_mg_mean": ("mg fentanyl per counterfeit pill", "mean"),
    "pills_ge_2mg_share": ("share of counterfeit pills with at least 2 mg fentanyl", "mean"),
    "pill_share_of_fentanyl": ("share of pure kg sold as counterfeit pills", "mean"),
}


def _row(index: int, doc: str) -> property:
    """A `Retail` attribute: row `index` of the sale's rows, per region."""
    return property(lambda self: self.rows[index], doc=doc)


class Retail:
    """One week's market outcome, per region: `sim.kernels.market.sell`'s rows as one array
    (`rows`, each read by its name below) and log(PILL_GE_MG / fentanyl_mg) (`log_2mg`)."""

    __slots__ = ("rows", "log_2mg")

    def __init__(self, rows: np.ndarray, log_2mg: np.ndarray):
        self.rows, self.log_2mg = rows, log_2mg

    fentanyl_share = _row(kernels.SHARE, "share of doses containing fentanyl (0-1)")
    fentanyl_mg = _row(kernels.MG, "mean mg pure fentanyl in a fentanyl dose (= in a pill)")
    fentanyl_sigma = _row(kernels.SIGMA, "log-sd of mg pure in a fentanyl dose")
    sold_kg = _row(kernels.SOLD, "kg pure fentanyl sold to users")
    price_usd_per_mg = _row(kernels.PRICE, "retail price per mg pure")
    powder_purity = _row(kernels.PURITY, "pure share of retail powder by weight")

    @property
    def pills_ge_2mg(self) -> np.ndarray:
        """Share of pills with at least PILL_GE_MG: a pill is one dose, its mg lognormal with
        mean fentanyl_mg and log-sd fentanyl_sigma."""
        return 1.0 - ndtr(self.z_2mg())

    def z_2mg(self) -> np.ndarray:
        """Where PILL_GE_MG stands in each region's pills, in standard deviations of their
        lognormal."""
        return kernels.lognormal_z(self.log_2mg, self.fentanyl_sigma)


def sell(stock_kg: np.ndarray, people_using: np.ndarray, rules: kernels.MarketRules | np.ndarray
         ) -> tuple[Retail, float]:
    """Clear each region's market from dealers' stock (kg pure; what they sell is taken from
    it) and the people using there; returns the outcome and the price averaged over regions by
    people using (US$/mg pure). The per-region work is compiled (`sim.kernels.market`); the
    powers and the logarithm are NumPy's, as they were before it was."""
    cover, shortage = kernels.cover_and_shortage(stock_kg, people_using, rules)
    out, inverse = kernels.sell(cover, cover ** rules[kernels.CUT_ELASTICITY],
                                shortage ** rules[kernels.SCARCITY_EXPONENT], people_using, rules)
    return settle((out, kernels.ratios(out, inverse)), stock_kg, people_using, rules)


def settle(sold: tuple[np.ndarray, np.ndarray], stock_kg: np.ndarray, people_using: np.ndarray,
           rules: kernels.MarketRules | np.ndarray) -> tuple[Retail, float]:
    """After `sim.kernels.market.sell` (its rows, and `ratios`): the sales taken from stock,
    the product's spread and the price; the logarithms are NumPy's, in one call. Returns
    `sell`'s. rules: a `MarketRules` or its values (cheaper to pass to the kernels)."""
    out, both = sold
    logs = np.log(both)
    price = kernels.settle(out, logs[0], stock_kg, people_using, rules)
    return Retail(out, logs[1]), price


def clear(stock_kg: np.ndarray, people_using: np.ndarray, market: dict, users: dict) -> Retail:
    """`sell` on a copy of the stock (market: this module's parameters; users: the users'
    parameters, for uses per week and the reference and maximum mg per dose)."""
    return sell(stock_kg.copy(), people_using, kernels.market_rules(market, users))[0]


def initial_supply_kg(users: dict, market: dict) -> float:
    """kg pure fentanyl a week that the 2016 market sells: demand at the target dose x the
    share of doses that contained fentanyl in 2016."""
    demand_kg = (users["people_with_oud"] * users["uses_per_week"]
                 * users["fentanyl_dose_target_mg"] / MG_PER_KG)
    return demand_kg * market["fentanyl_share_2016"]


class Dealers:
    """Every US market region's retail dealers."""

    def __init__(self, params: dict, users_params: dict, people_using: np.ndarray,
                 pill_share: np.ndarray, pressed_share: float):
        """Stock starts at `retail_turnover`'s inverse weeks of the 2016 supply, spread by
        people using; pill_share: each region's share of fentanyl doses sold as pills when
        cartels press all they make; pressed_share: the share they press (0-1)."""
        self.params, self.users_params = params, users_params
        self.rules = kernels.market_rules(params, users_params)
        self.rule_values = np.array(self.rules)   # as the kernels take them every week
        # both exponents 0.5: trade and sale in one kernel, with square roots
        self.square_roots = self.rules.cut_elasticity == self.rules.scarcity_exponent == 0.5
        self.pill_share_pressed_all = pill_share
        self.pressed_share = pressed_share   # this week's
        self.stock_kg = (people_using / people_using.sum() * initial_supply_kg(users_params, params)
                         / params["retail_turnover"])
        self.in_transit_kg = np.zeros_like(self.stock_kg)   # from other regions, next week
        self.price_usd_per_mg = params["retail_price_ref_usd_per_mg"]
        self.last: Retail | None = None
        self.uniform = np.full(self.stock_kg.size, 1.0 / self.stock_kg.size)   # region weights
        self.pill_weight_mg = float(params["pill_weight_mg"])
        self.border_powder_purity = float(params["border_powder_purity"])

    @property
    def pill_share(self) -> np.ndarray:
        """This week's share of each region's fentanyl doses sold as pills."""
        return self.pill_share_pressed_all * self.pressed_share

    def held_kg(self) -> float:
        """kg pure the dealers hold, on their shelves and on their way between regions."""
        return float(self.stock_kg.sum() + self.in_transit_kg.sum())

    def price_ratio(self) -> float:
        """This week's retail price over the reference price."""
        return self.price_usd_per_mg / self.params["retail_price_ref_usd_per_mg"]

    def wholesale_usd_per_kg(self) -> float:
        """What a kg pure fetches at the US border: the reference wholesale price moved with
        the retail price."""
        p = self.params
        return (p["wholesale_price_ref_usd_per_kg"] * self.price_usd_per_mg
                / p["retail_price_ref_usd_per_mg"])

    def receive(self, by_entry_kg: np.ndarray, entry_market_share: np.ndarray) -> None:
        """Loads delivered at each US entry go to the regions it serves, by its shares; stock
        sent between regions last week arrives."""
        self.stock_kg += by_entry_kg @ entry_market_share + self.in_transit_kg
        self.in_transit_kg.fill(0.0)

    def clear(self, people_using: np.ndarray) -> Retail:
        """Trade stock between regions (it arrives next week), then sell to this week's users;
        the price is the regions' mean by people using.

        Trade: stock moves toward higher prices (what each region's stock would fetch this
        week). A region whose price is below the national mean by more than half the cost of
        moving stock (regional_trade_cost_share, a share of the price) sends
        regional_trade_rate of its stock above its people-weighted share of the national
        stock; regions whose price is above the mean by more than half that cost take it, in
        proportion to what they lack of their share; it arrives next week. Regional prices
        thus stay within about the cost of each other."""
        rules, values, stock = self.rules, self.rule_values, self.stock_kg
        if self.square_roots:
            self.last, self.price_usd_per_mg = settle(kernels.trade_and_sell(
                stock, self.in_transit_kg, people_using, values), stock, people_using, values)
            return self.last
        _, shortage = kernels.cover_and_shortage(stock, people_using, values)
        kernels.trade(stock, self.in_transit_kg, people_using, shortage ** rules.scarcity_exponent,
                      values)
        self.last, self.price_usd_per_mg = sell(stock, people_using, values)
        return self.last

    def observe(self, people_using: np.ndarray) -> dict[str, float]:
        """This week's columns; doses are averaged over regions by people using now, pills and
        powder by what each region sold of them (`sim.kernels.market.columns`)."""
        retail = self.last
        (sold, share, mg, purity, pill_mg, ge_2mg, pills) = kernels.columns(
            retail.fentanyl_share, retail.fentanyl_mg, retail.sold_kg, retail.powder_purity,
            retail.pills_ge_2mg, self.pill_share, people_using)
        return {"retail_price_usd_per_mg": self.price_usd_per_mg, "fentanyl_sold_kg": sold,
                "fentanyl_share_of_doses": share, "fentanyl_mg_per_dose": mg,
                "fentanyl_purity": purity, "pill_mg_mean": pill_mg, "pills_ge_2mg_share": ge_2mg,
                "pill_share_of_fentanyl": pills}

    def gross_kg_per_pure_kg(self) -> float:
        """Product weight of the fentanyl crossing into the US per kg pure, at this week's mix:
        pills at their mg per pill and weight, powder at the border's purity."""
        retail, p = self.last, self.params
        if retail is None:
            return 1.0 / p["border_powder_purity"]
        pills, pill_mg = kernels.pill_mix(retail.sold_kg, retail.fentanyl_mg, self.pill_share,
                                          self.uniform)
        return pills * p["pill_weight_mg"] / pill_mg + (1.0 - pills) / p["border_powder_purity"]


def market_week(model, week) -> None:
    """Phase: dealers sell to the people using this week, then trade between regions; each
    region sells as pills its share of what the cartels now press."""
    dealers = model.dealers
    dealers.pressed_share = pill_press_share(model)
    week.retail = dealers.clear(model.users.people_using)
