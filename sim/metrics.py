"""The output's columns: their order (a contract other tools read), units and how a run's total
is formed. Each actor module owns its columns (`COLUMNS`, `observe`); this module puts them in
order, in real-world units (people, kg, US$) scaled up from agents. Metrics read the actors'
state and the week's flows; they never feed back into the model.
"""

from __future__ import annotations

import numpy as np

from sim import trade
from sim.actors import cartels, customs, makers, per_model, regulators, retail, users
from sim.kernels.record import BLOCKS, CARTELS, VALUES, week_row

# the fixed columns, in output order (route, chemical and post columns follow `columns_for`)
CORE = ("overdose_deaths", "fentanyl_to_us_kg", "fentanyl_seized_kg", "fentanyl_seized_mx_kg",
        "precursor_shipped_kg", "precursor_seized_kg", "retail_price_usd_per_mg",
        "active_precursor_makers", "unscheduled_precursor_share", "cartel_revenue_usd",
        "china_cooperation", "users_active", "users_in_treatment")
EXTRA = ("synthetic_opioid_deaths", "overdoses", "treatment_entries", "fentanyl_made_kg",
         "fentanyl_synthesized_kg", "fentanyl_sold_kg", "fentanyl_seized_origin_kg",
         "finished_fentanyl_shipped_kg",
         "precursor_spend_usd", "precursor_delivered_kg", "fentanyl_share_of_doses",
         "fentanyl_mg_per_dose", "china_enforcement", "mexico_labs", "mexico_lab_raids",
         "mexico_labs_dismantled", "cartel_armed_strength", "chemicals_controlled_in_china",
         "sanctioned_makers", "sanctioned_makers_sales_kg", "fentanyl_purity", "pill_mg_mean",
         "pills_ge_2mg_share", "pill_share_of_fentanyl", "fentanyl_seized_gross_kg")
# column: (unit, how a run's total is formed: "sum" over weeks or "mean" of weekly values)
FIXED = {name: spec for module in (users, retail, makers, cartels, regulators, trade)
         for name, spec in module.COLUMNS.items()}
HOW = {name: FIXED[name][1] for name in CORE + EXTRA}
UNITS = {name: FIXED[name][0] for name in CORE + EXTRA}
# a column drawn with a part of it beside it (dashed) wherever the classroom plots it: the deaths
# caused by fentanyl and its analogs (NCHS T40.4) within all opioid overdose deaths
DRAWN_WITH = {"overdose_deaths": "synthetic_opioid_deaths"}


def drawn(column: str) -> tuple[str, ...]:
    """The columns a plot of `column` draws: itself, then the part drawn beside it, if any."""
    return (column, *([DRAWN_WITH[column]] if column in DRAWN_WITH else []))


def units_for(model) -> dict[str, tuple[str, str]]:
    """(unit, how totalled) of every column of this model's output: the fixed columns, then
    route, chemical and post shares."""
    return {**{name: FIXED[name] for name in CORE + EXTRA}, **trade.columns(model),
            **customs.columns(model.posts)}


def columns_for(model) -> list[str]:
    """Every recorded column, in order."""
    network = model.network
    return (list(CORE) + [f"route_share_{e}" for e in network.entry_names] + list(EXTRA)
            + [f"precursor_share_{c}" for c in model.chemicals.names]
            + [f"inspection_share_{p}" for p in model.posts.names])


def observe(model, week) -> dict[str, float | np.ndarray]:
    """The week's row: every actor's columns (a block of share columns as one array, keyed by
    its prefix: see `Recorder.record`)."""
    return {**model.users.observe(), **model.dealers.observe(model.users.people_using),
            **model.makers.observe(), **cartels.observe(model), **regulators.observe(model),
            **trade.observe(model, week), **customs.observe(model)}


def record(model, week) -> None:
    """Phase: record the week's row: `observe`'s values, computed and written into the
    recorder's column for the week in one kernel call (`sim.kernels.record.week_row`)."""
    users, dealers, makers, posts, china = (model.users, model.dealers, model.makers,
                                            model.posts, model.china)
    retail, traded, out, band = week.retail, week.trade, week.outcome, cartels.observe(model)
    week_row(model.recorder.claim(week.number), week.number, _places(model),
             users.totals, users.people_per_agent,
             dealers.price_usd_per_mg, retail.rows, retail.log_2mg, dealers.pill_share_pressed_all,
             float(dealers.pressed_share), users.people_using,
             float(users.people_using_total), dealers.uniform, dealers.pill_weight_mg,
             dealers.border_powder_purity,
             makers.active, makers.sanctioned, makers.sales_kg,
             *(float(band[name]) for name in CARTELS),
             float(china.cooperation), float(china.enforcement), model.controls.controlled,
             week.delivered_us_kg, week.lab_seized_kg, traded.shipped_kg, traded.finished_kg,
             traded.unscheduled_kg, model.chemicals.price_usd_per_kg,
             out.by_post, posts.seizure_group, out.precursor_delivered_kg, week.loads_kg,
             traded.finished_entry_kg, traded.by_chemical_kg,
             posts.inspections, posts.agency_ptr)


def _places(model) -> np.ndarray:
    """Where `week_row` writes each of its values and blocks (`Recorder.places`), per model."""
    return per_model(model, "_record_places", lambda: model.recorder.places(VALUES + BLOCKS))
