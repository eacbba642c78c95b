"""The week's row of output columns in one compiled call (`sim.metrics.record`): every actor's
columns, as its module's `observe` gives them (the readable twin this kernel is held to, value
for value and bit for bit, in tests/test_kernels_record.py), computed from the actors' arrays and
written straight into the recorder's column for the week. Sums round as NumPy's
(`sim.kernels.sums`); the columns' kernels of the market, makers, trade and customs are the
same functions their `observe` calls, and the chemicals' spend is BLAS's product as NumPy's `@`
(Numba's `np.dot` calls the same `ddot`: equal to the bit on 300,000 random vectors of 1 to
39 entries), and the normal CDF of the pills' column is SciPy's own (`sim.kernels.special`).
What the actors keep as Python numbers is passed in.
"""

import numba
import numpy as np

from sim.countries import CHINA
from sim.kernels.customs import agency_shares
from sim.kernels.makers import columns as maker_columns
from sim.kernels.market import MG, PURITY, SHARE, SIGMA, SOLD, lognormal_z, pill_mix
from sim.kernels.market import columns as market_columns
from sim.kernels.special import ndtr
from sim.kernels.sums import pairwise_sum
from sim.kernels.trade import seized_by_group, shares
from sim.kernels.users import C_DEATHS, C_ENTERED, C_OVERDOSES, C_SYNTHETIC, C_TREATMENT

# the columns `week_row` writes, in its order (`sim.metrics` finds each one's place by name),
# then the blocks of share columns it writes, by prefix
USERS = ("overdose_deaths", "synthetic_opioid_deaths", "overdoses", "treatment_entries",
         "users_active", "users_in_treatment")
DEALERS = ("retail_price_usd_per_mg", "fentanyl_sold_kg", "fentanyl_share_of_doses",
           "fentanyl_mg_per_dose", "fentanyl_purity", "pill_mg_mean", "pills_ge_2mg_share",
           "pill_share_of_fentanyl")
MAKERS = ("active_precursor_makers", "sanctioned_makers", "sanctioned_makers_sales_kg")
CARTELS = ("cartel_revenue_usd", "fentanyl_synthesized_kg", "mexico_labs", "mexico_lab_raids",
           "mexico_labs_dismantled", "cartel_armed_strength")
REGULATORS = ("china_cooperation", "china_enforcement", "chemicals_controlled_in_china")
TRADE = ("fentanyl_to_us_kg", "fentanyl_seized_kg", "fentanyl_seized_gross_kg",
         "fentanyl_seized_mx_kg", "precursor_shipped_kg", "precursor_seized_kg",
         "unscheduled_precursor_share", "fentanyl_made_kg", "fentanyl_seized_origin_kg",
         "finished_fentanyl_shipped_kg", "precursor_spend_usd", "precursor_delivered_kg")
VALUES = USERS + DEALERS + MAKERS + CARTELS + REGULATORS + TRADE
BLOCKS = ("route_share_", "precursor_share_", "inspection_share_")
# where `at` holds each block's first column
ROUTE_BLOCK, CHEMICAL_BLOCK, POST_BLOCK = range(len(VALUES), len(VALUES) + len(BLOCKS))
# rows of the week's seizures by post (`sim.pipeline.BY_POST`) and groups of posts
# (`sim.actors.customs`: US, Mexico, origin countries; `seized_by_group` adds a last: all)
PRECURSOR, FINISHED, FENTANYL = range(3)
US, MEXICO, ORIGIN, ALL = range(4)


@numba.njit(cache=True)
def week_row(data, step, at,
             totals, people_per_agent,
             price_usd_per_mg, rows, log_2mg, pill_share_pressed_all, pressed_share,
             people_using, people_using_total, uniform, pill_weight_mg,
             border_powder_purity,
             active, sanctioned, sales_kg,
             revenue_usd, synthesized_kg, labs, raids, dismantled, armed_strength,
             cooperation, enforcement, controlled,
             delivered_us_kg, lab_seized_kg, shipped_kg, finished_kg, unscheduled_kg,
             price_usd_per_kg, by_post, seizure_group, precursor_delivered_kg, loads_kg,
             finished_entry_kg, by_chemical_kg,
             inspections, agency_ptr):
    """Write the week's columns into data[:, step]: value k of `VALUES` at row at[k], the
    blocks of `BLOCKS` from rows at[ROUTE_BLOCK], at[CHEMICAL_BLOCK], at[POST_BLOCK] on.

    Users: totals (agents per count row, `sim.kernels.users`) and people per agent. Dealers:
    this week's price (US$/mg pure), the market's rows per region (`sim.kernels.market.sell`'s,
    `sim.actors.retail.Retail.rows`), log(2 mg / mg per dose), pill share when cartels press
    all they make and the share they press (`sim.actors.retail.Dealers.pill_share`), people
    using per region and in all (`Users.people_using_total`), equal region weights
    (`Dealers.uniform`), mg of a pill and the border's powder purity.
    Makers: their arrays. Cartels: their sums (`sim.actors.cartels.observe`). Regulators:
    China's cooperation and enforcement and the controls table.
    Trade: kg reaching US retail, kg seized in Mexican labs, the week's precursor trade (kg
    shipped, finished, unscheduled), each chemical's price (US$/kg), seizures by kind and
    post, each post's group, precursor kg delivered per route, kg sent north per US entry,
    finished kg per entry, kg per chemical. Customs: inspections per post and the agencies'
    first posts."""
    column = data[:, step]
    # users
    column[at[0]] = totals[C_DEATHS] * people_per_agent
    column[at[1]] = totals[C_SYNTHETIC] * people_per_agent
    column[at[2]] = totals[C_OVERDOSES] * people_per_agent
    column[at[3]] = totals[C_ENTERED] * people_per_agent
    column[at[4]] = people_using_total
    column[at[5]] = totals[C_TREATMENT] * people_per_agent
    # dealers
    share, mg, sold_kg = rows[SHARE], rows[MG], rows[SOLD]
    pill_share = pill_share_pressed_all * pressed_share
    z = lognormal_z(log_2mg, rows[SIGMA])
    at_2mg = np.empty(z.size)
    for r in range(z.size):
        at_2mg[r] = 1.0 - ndtr(z[r])
    market = market_columns(share, mg, sold_kg, rows[PURITY], at_2mg, pill_share, people_using)
    k = len(USERS)
    column[at[k]] = price_usd_per_mg
    for i in range(7):
        column[at[k + 1 + i]] = market[i]
    pills, pill_mg = pill_mix(sold_kg, mg, pill_share, uniform)
    gross_per_pure = pills * pill_weight_mg / pill_mg + (1.0 - pills) / border_powder_purity
    # makers
    k += len(DEALERS)
    n_active, n_sanctioned, sanctioned_kg = maker_columns(active, sanctioned, sales_kg)
    column[at[k]] = n_active
    column[at[k + 1]] = n_sanctioned
    column[at[k + 2]] = sanctioned_kg
    # cartels
    k += len(MAKERS)
    column[at[k]] = revenue_usd
    column[at[k + 1]] = synthesized_kg
    column[at[k + 2]] = labs
    column[at[k + 3]] = raids
    column[at[k + 4]] = dismantled
    column[at[k + 5]] = armed_strength
    # regulators
    k += len(CARTELS)
    column[at[k]] = cooperation
    column[at[k + 1]] = enforcement
    controlled_in_china = 0
    for c in range(controlled.shape[1] - 1):
        controlled_in_china += int(controlled[CHINA, c])
    column[at[k + 2]] = float(controlled_in_china)
    # trade
    k += len(REGULATORS)
    seized = seized_by_group(by_post, seizure_group, ORIGIN + 1)
    column[at[k]] = delivered_us_kg
    column[at[k + 1]] = seized[FENTANYL, US] + seized[FINISHED, US]
    column[at[k + 2]] = seized[FENTANYL, US] * gross_per_pure + seized[FINISHED, US]
    column[at[k + 3]] = seized[FENTANYL, MEXICO] + seized[FINISHED, MEXICO] + lab_seized_kg
    column[at[k + 4]] = shipped_kg
    column[at[k + 5]] = seized[PRECURSOR, ALL]
    column[at[k + 6]] = unscheduled_kg / shipped_kg if shipped_kg > 0 else 0.0
    column[at[k + 7]] = synthesized_kg + finished_kg
    column[at[k + 8]] = seized[FINISHED, ORIGIN]
    column[at[k + 9]] = finished_kg
    column[at[k + 10]] = np.dot(by_chemical_kg, price_usd_per_kg)
    column[at[k + 11]] = pairwise_sum(precursor_delivered_kg)
    _block(column, at[ROUTE_BLOCK], shares(loads_kg + finished_entry_kg))
    _block(column, at[CHEMICAL_BLOCK], shares(by_chemical_kg))
    _block(column, at[POST_BLOCK], agency_shares(inspections, agency_ptr))


@numba.njit(cache=True)
def _block(column, start, values):
    """values into column[start:start + values.size]."""
    for i in range(values.size):
        column[start + i] = values[i]
