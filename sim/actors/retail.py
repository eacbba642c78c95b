"""US retail dealers: each market region's dealers hold fentanyl stock and sell it to users.

State: stock per region (kg pure), the week's retail price (US$/mg pure, averaged over regions by
people using) and the last week's market outcome.
Weekly rule (`clear`): dealers cut fentanyl to a target content per dose. When they hold less
than demand at that content, only a share of doses contain fentanyl (the rest is heroin) and the
price rises with the shortage; when they hold more, doses get stronger (up to a maximum) and the
price falls. Parameters: `PARAMS` (group `market`). Columns: `COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.parameter import ASSUMPTION, CAULKINS_KILMER, FITTED, Param

MG_PER_KG = 1e6

PARAMS: dict[str, Param] = {
    "retail_price_ref_usd_per_mg": Param(3.0, "US$/mg pure", CAULKINS_KILMER, 0.01, 1000.0),
    "price_scarcity_exponent": Param(0.5, "dimensionless", "assumption: price rises with the "
                                     "square root of shortage", 0.0, 3.0),
    "fentanyl_share_2016": Param(0.1, "share of retail doses containing fentanyl in 2016",
                                 "assumption after RAND RR3117 (fentanyl spread through "
                                 "eastern heroin markets from 2014)" + FITTED, 0.0, 1.0),
    "retail_turnover": Param(0.5, "share of retail stock sold per week", ASSUMPTION, 0.01, 1.0),
    "wholesale_price_ref_usd_per_kg": Param(40_000, "US$/kg pure at the US border",
                                            "assumption between ~$10,000/kg in Mexico "
                                            "(Caulkins & Kilmer) and retail", 100, 1e7),
}

COLUMNS = {
    "retail_price_usd_per_mg": ("US$/mg pure", "mean"),
    "fentanyl_sold_kg": ("kg pure/week sold to users", "sum"),
    "fentanyl_share_of_doses": ("share of retail doses containing fentanyl", "mean"),
    "fentanyl_mg_per_dose": ("mg pure in a fentanyl dose", "mean"),
}


@dataclass
class Retail:
    """One week's market outcome per region."""

    fentanyl_share: np.ndarray      # share of doses containing fentanyl (0-1)
    fentanyl_mg: np.ndarray         # mean mg pure fentanyl in a fentanyl dose
    fentanyl_sigma: np.ndarray      # log-sd of mg pure in a fentanyl dose
    sold_kg: np.ndarray             # kg pure fentanyl sold to users
    price_usd_per_mg: np.ndarray    # retail price per mg pure


def clear(stock_kg: np.ndarray, people_using: np.ndarray, market: dict, users: dict) -> Retail:
    """Clear each region's market from dealers' stock (kg) and the people using there (market:
    this module's parameters; users: the users' parameters)."""
    uses = people_using * users["uses_per_week"]
    offered_mg = stock_kg * MG_PER_KG * market["retail_turnover"]
    wanted_mg = uses * users["fentanyl_dose_target_mg"]
    sold_mg = np.minimum(offered_mg, uses * users["fentanyl_dose_max_mg"])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(wanted_mg > 0, np.minimum(1.0, sold_mg / wanted_mg), 0.0)
        mg = np.where(share >= 1.0, sold_mg / np.maximum(uses, 1e-12),
                      users["fentanyl_dose_target_mg"])
        shortage = np.where(offered_mg > 0, wanted_mg / offered_mg, 10.0)
    price = market["retail_price_ref_usd_per_mg"] * np.clip(
        shortage, 0.1, 10.0) ** market["price_scarcity_exponent"]
    return Retail(fentanyl_share=share, fentanyl_mg=mg,
                  fentanyl_sigma=np.full(share.size, users["dose_sigma_fentanyl"]),
                  sold_kg=sold_mg / MG_PER_KG, price_usd_per_mg=price)


def initial_supply_kg(users: dict, market: dict) -> float:
    """kg pure fentanyl a week that the 2016 market sells: demand at the target dose x the
    share of doses that contained fentanyl in 2016."""
    demand_kg = (users["people_with_oud"] * users["uses_per_week"]
                 * users["fentanyl_dose_target_mg"] / MG_PER_KG)
    return demand_kg * market["fentanyl_share_2016"]


class Dealers:
    """Every US market region's retail dealers."""

    def __init__(self, params: dict, users_params: dict, people_using: np.ndarray):
        """Stock starts at `retail_turnover`'s inverse weeks of the 2016 supply, spread by
        people using."""
        self.params, self.users_params = params, users_params
        self.stock_kg = (people_using / people_using.sum() * initial_supply_kg(users_params, params)
                         / params["retail_turnover"])
        self.price_usd_per_mg = params["retail_price_ref_usd_per_mg"]
        self.last: Retail | None = None

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
        """Loads delivered at each US entry go to the regions it serves, by its shares."""
        self.stock_kg += by_entry_kg @ entry_market_share

    def clear(self, people_using: np.ndarray) -> Retail:
        """Sell to this week's users; the price is the regions' mean by people using."""
        retail = clear(self.stock_kg, people_using, self.params, self.users_params)
        self.stock_kg = np.maximum(0.0, self.stock_kg - retail.sold_kg)
        weights = people_using / max(people_using.sum(), 1e-12)
        self.price_usd_per_mg = float((retail.price_usd_per_mg * weights).sum())
        self.last = retail
        return retail

    def observe(self, people_using: np.ndarray) -> dict[str, float]:
        """This week's columns; doses are averaged over regions by people using now."""
        retail = self.last
        weights = people_using / max(people_using.sum(), 1e-12)
        return {"retail_price_usd_per_mg": self.price_usd_per_mg,
                "fentanyl_sold_kg": retail.sold_kg.sum(),
                "fentanyl_share_of_doses": float((retail.fentanyl_share * weights).sum()),
                "fentanyl_mg_per_dose": float((retail.fentanyl_mg * weights).sum())}


def market_week(model, week) -> None:
    """Phase: dealers sell to the people using this week."""
    week.retail = model.dealers.clear(model.users.people_using)
