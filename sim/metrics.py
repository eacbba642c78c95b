"""What is recorded each week, in real-world units (people, kg, US$), scaled up from agents.

Metrics read agents' state and the week's flows; they never feed back into the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernels.users import C_DEATHS, C_ENTERED, C_OVERDOSES
from sim.populations import CHINA, INDIA

# column: (unit, how a run's total is formed: "sum" over weeks or "mean" of weekly values)
CORE = {
    "overdose_deaths": ("people/week", "sum"),
    "fentanyl_to_us_kg": ("kg pure/week reaching US retail", "sum"),
    "fentanyl_seized_kg": ("kg pure/week seized by US agencies", "sum"),
    "fentanyl_seized_mx_kg": ("kg pure/week seized in Mexico, labs included", "sum"),
    "precursor_shipped_kg": ("kg/week of precursor chemicals shipped", "sum"),
    "precursor_seized_kg": ("kg/week of precursor chemicals seized", "sum"),
    "retail_price_usd_per_mg": ("US$/mg pure", "mean"),
    "active_precursor_makers": ("firms", "mean"),
    "unscheduled_precursor_share": ("share of precursor kg shipped", "mean"),
    "cartel_revenue_usd": ("US$/week", "sum"),
    "china_cooperation": ("0-1", "mean"),
    "users_active": ("people", "mean"),
    "users_in_treatment": ("people", "mean"),
}
EXTRA = {
    "overdoses": ("people/week (fatal and non-fatal)", "sum"),
    "treatment_entries": ("people/week", "sum"),
    "fentanyl_made_kg": ("kg pure/week made in labs or shipped finished", "sum"),
    "fentanyl_synthesized_kg": ("kg pure/week made in Mexican labs", "sum"),
    "fentanyl_sold_kg": ("kg pure/week sold to users", "sum"),
    "fentanyl_seized_origin_kg": ("kg/week of finished fentanyl seized in China or India",
                                  "sum"),
    "finished_fentanyl_shipped_kg": ("kg/week of finished fentanyl-related substances shipped",
                                     "sum"),
    "precursor_spend_usd": ("US$/week paid to makers for all chemicals shipped, seized or not "
                            "(chemicals table prices)", "sum"),
    "precursor_delivered_kg": ("kg/week of precursor delivered to labs", "sum"),
    "fentanyl_share_of_doses": ("share of retail doses containing fentanyl", "mean"),
    "fentanyl_mg_per_dose": ("mg pure in a fentanyl dose", "mean"),
    "china_enforcement": ("0-1", "mean"),
    "mexico_labs": ("labs", "mean"),
    "mexico_lab_raids": ("raid attempts/week", "sum"),
    "mexico_labs_dismantled": ("successful raids/week", "sum"),
    "cartel_armed_strength": ("mean armed strength of Mexican cartels (guns a year x share / "
                              "guns_per_strength_unit)", "mean"),
    "chemicals_controlled_in_china": ("chemicals", "mean"),
    "sanctioned_makers": ("firms on the sanctions list under their current name", "mean"),
    "sanctioned_makers_sales_kg": ("kg/week shipped by sanctioned firms", "sum"),
}
HOW = {name: how for name, (_, how) in {**CORE, **EXTRA}.items()}
UNITS = {name: unit for name, (unit, _) in {**CORE, **EXTRA}.items()}


@dataclass
class PrecursorTrade:
    """The week's chemical trade (kg of chemical)."""

    shipped_kg: float               # precursors (not finished fentanyl)
    finished_kg: float              # finished fentanyl-related substances
    unscheduled_kg: float           # precursors not controlled where they were made
    by_chemical_kg: np.ndarray
    finished_entry_kg: np.ndarray   # finished substances by US entry route


def columns_for(model) -> list[str]:
    """Every recorded column, in order."""
    return (list(CORE) + [f"route_share_{e}" for e in model.entry_names] + list(EXTRA)
            + [f"precursor_share_{c}" for c in model.chemicals.names]
            + [f"inspection_share_{p}" for p in model.post_names])


def units_for(model) -> dict[str, tuple[str, str]]:
    units = {**CORE, **EXTRA}
    units.update({f"route_share_{e}": ("share of fentanyl kg sent north", "mean")
                  for e in model.entry_names})
    units.update({f"precursor_share_{c}": ("share of chemical kg shipped", "mean")
                  for c in model.chemicals.names})
    units.update({f"inspection_share_{p}": ("share of its agency's inspections", "mean")
                  for p in model.post_names})
    return units


def observe(model, trade: PrecursorTrade, out, retail, counts, raided_kg: float,
            loads_kg: np.ndarray, delivered_us_kg: float) -> dict[str, float]:
    """The week's row."""
    ppa = model.people_per_agent
    us, mx = model.post_is_us, model.post_is_mexico
    origin = np.isin(model.post_country, [CHINA, INDIA])
    north = loads_kg + trade.finished_entry_kg
    traded = trade.by_chemical_kg.sum()
    cartels = [c for c in model.cartels if not c.in_us]
    people = model.people_using
    weights = people / max(people.sum(), 1e-12)
    row = {
        "overdose_deaths": counts[C_DEATHS].sum() * ppa,
        "fentanyl_to_us_kg": delivered_us_kg,
        "fentanyl_seized_kg": out.fentanyl_seized_kg[us].sum() + out.finished_seized_kg[us].sum(),
        "fentanyl_seized_mx_kg": (out.fentanyl_seized_kg[mx].sum()
                                  + out.finished_seized_kg[mx].sum() + raided_kg),
        "precursor_shipped_kg": trade.shipped_kg,
        "precursor_seized_kg": out.precursor_seized_kg.sum(),
        "retail_price_usd_per_mg": model.retail_price_usd_per_mg,
        "active_precursor_makers": float(model.makers.active.sum()),
        "unscheduled_precursor_share": (trade.unscheduled_kg / trade.shipped_kg
                                        if trade.shipped_kg > 0 else 0.0),
        "cartel_revenue_usd": sum(c.revenue_usd for c in cartels),
        "china_cooperation": model.china_cooperation,
        "users_active": people.sum(),
        "users_in_treatment": model.people_in_treatment,
        "overdoses": counts[C_OVERDOSES].sum() * ppa,
        "treatment_entries": counts[C_ENTERED].sum() * ppa,
        "fentanyl_made_kg": sum(c.made_kg for c in model.cartels) + trade.finished_kg,
        "fentanyl_synthesized_kg": sum(c.made_kg for c in model.cartels),
        "fentanyl_sold_kg": retail.sold_kg.sum(),
        "fentanyl_seized_origin_kg": out.finished_seized_kg[origin].sum(),
        "finished_fentanyl_shipped_kg": trade.finished_kg,
        "precursor_spend_usd": float(trade.by_chemical_kg @ model.chemicals.price_usd_per_kg),
        "precursor_delivered_kg": out.precursor_delivered_kg.sum(),
        "fentanyl_share_of_doses": float((retail.fentanyl_share * weights).sum()),
        "fentanyl_mg_per_dose": float((retail.fentanyl_mg * weights).sum()),
        "china_enforcement": model.china_enforcement,
        "mexico_labs": float(sum(c.labs for c in cartels)),
        "mexico_lab_raids": float(sum(c.raids_attempted for c in cartels)),
        "mexico_labs_dismantled": float(sum(c.labs_raided for c in cartels)),
        "cartel_armed_strength": float(np.mean([c.armed_strength for c in cartels])),
        "chemicals_controlled_in_china": float(model.controlled[CHINA, :-1].sum()),
        "sanctioned_makers": float(((model.makers.sanctioned == 1)
                                    & (model.makers.active == 1)).sum()),
        "sanctioned_makers_sales_kg": float(model.makers.sales_kg[
            model.makers.sanctioned == 1].sum()),
    }
    for e, name in enumerate(model.entry_names):
        row[f"route_share_{name}"] = north[e] / north.sum() if north.sum() > 0 else 0.0
    for c, name in enumerate(model.chemicals.names):
        row[f"precursor_share_{name}"] = trade.by_chemical_kg[c] / traded if traded > 0 else 0.0
    for agency in model.customs:
        inspections = model.post_inspections[agency.posts]
        for post, value in zip(agency.posts, inspections / max(inspections.sum(), 1e-12),
                               strict=True):
            row[f"inspection_share_{model.post_names[post]}"] = value
    return row
