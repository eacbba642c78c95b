"""The US retail market: each region's dealers sell from their fentanyl stock.

Dealers cut fentanyl to a target content per dose. When they hold less than demand at that
content, only a share of doses contain fentanyl (the rest is heroin) and the price rises with the
shortage; when they hold more, doses get stronger (up to a maximum) and the price falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MG_PER_KG = 1e6


@dataclass
class Retail:
    """One week's market outcome per region."""

    fentanyl_share: np.ndarray      # share of doses containing fentanyl (0-1)
    fentanyl_mg: np.ndarray         # mean mg pure fentanyl in a fentanyl dose
    sold_kg: np.ndarray             # kg pure fentanyl sold to users
    price_usd_per_mg: np.ndarray    # retail price per mg pure


def clear(stock_kg: np.ndarray, people_using: np.ndarray, market: dict, users: dict) -> Retail:
    """Clear each region's market from dealers' stock (kg) and the people using there."""
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
    return Retail(fentanyl_share=share, fentanyl_mg=mg, sold_kg=sold_mg / MG_PER_KG,
                  price_usd_per_mg=price)
