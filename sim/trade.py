"""The trade steps: what moves between actors each week.

- `precursor_trade`: buyers order, makers fill or refuse, consignments are inspected at the
  customs posts along their routes and scheduled into the pipeline.
- `move_fentanyl`: cartels send loads north through US entry routes; loads are inspected.
- `receive`: what arrives this week goes into buyers' and dealers' stocks.
A consignment's fate is drawn when it is dispatched (`sim.kernels.shipments.inspect`) and lands
in the pipeline (`sim.pipeline`) in the week it is seized or delivered.
Columns: `COLUMNS` and `columns` (route and chemical shares).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.actors import per_model, regulators
from sim.actors.buyers import buyers
from sim.actors.cartels import cartels, loads_north
from sim.actors.customs import MEXICO_POSTS, ORIGIN_POSTS, US_POSTS
from sim.kernels import rng
from sim.kernels.shipments import pending_by_owner
from sim.kernels.sums import pairwise_sum
from sim.kernels.trade import precursor_week, receive_week, seized_by_group, shares
from sim.pipeline import FENTANYL_FLOWS, POST, PRECURSOR_FLOWS, ROUTE, WeekOutcome

COLUMNS = {
    "fentanyl_to_us_kg": ("kg pure/week reaching US retail", "sum"),
    "fentanyl_seized_kg": ("kg pure/week seized by US agencies", "sum"),
    "fentanyl_seized_gross_kg": ("kg/week seized by US agencies as weighed: pills and powder, "
                                 "product weight", "sum"),
    "fentanyl_seized_mx_kg": ("kg pure/week seized in Mexico, labs included", "sum"),
    "precursor_shipped_kg": ("kg/week of precursor chemicals shipped", "sum"),
    "precursor_seized_kg": ("kg/week of precursor chemicals seized", "sum"),
    "unscheduled_precursor_share": ("share of precursor kg shipped", "mean"),
    "fentanyl_made_kg": ("kg pure/week made in labs or shipped finished", "sum"),
    "fentanyl_seized_origin_kg": ("kg/week of finished fentanyl seized in China or India",
                                  "sum"),
    "finished_fentanyl_shipped_kg": ("kg/week of finished fentanyl-related substances shipped",
                                     "sum"),
    "precursor_spend_usd": ("US$/week paid to makers for all chemicals shipped, seized or not "
                            "(chemicals table prices)", "sum"),
    "precursor_delivered_kg": ("kg/week of precursor delivered to labs", "sum"),
}


class PrecursorTrade(NamedTuple):
    """The week's chemical trade (kg of chemical)."""

    shipped_kg: float               # precursors (not finished fentanyl)
    finished_kg: float              # finished fentanyl-related substances
    unscheduled_kg: float           # precursors not controlled where they were made
    by_chemical_kg: np.ndarray
    finished_entry_kg: np.ndarray   # finished substances by US entry route


def precursor_trade(model, week) -> None:
    """Phase: buyers order for their needs (counting what is on its way), makers serve the
    orders in a random queue, and what is shipped is inspected and scheduled; all but the
    buyers' wants in one compiled pass (`sim.kernels.trade.precursor_week`)."""
    number, every = week.number, buyers(model)
    owners, horizon, before, after = _precursor_arguments(model)
    # buyers learn of a seizure when the consignment is shipped (see after_orders), so only
    # what will arrive counts as on its way
    in_transit = pending_by_owner(*owners, number, horizon).tolist()
    wanted = np.array([b.wanted_kg(in_transit[b.index]) for b in every], float)
    enforcement, watchlist_share = regulators.enforcement_on_makers(model)
    keys = rng.keys_of_week(model.seed, number)
    shipments, model.makers.filled_share, totals = precursor_week(
        number, wanted, *before, enforcement, watchlist_share,
        float(model.levers.sanction_capacity_loss), *after, keys[rng.ORDER_QUEUE],
        keys[rng.REFUSE], keys[rng.PRECURSOR_INSPECT], keys[rng.LINK_LOSS])
    model.shipments_inspected += shipments
    week.trade = PrecursorTrade(*totals)


# what a buyer counts as on its way: precursor (as its fentanyl yield) and finished substances
IN_TRANSIT = np.array([ROUTE["precursor_delivered_fe"], ROUTE["finished_delivered_kg"]],
                      np.int64)


def _precursor_arguments(model) -> tuple[tuple, int, tuple, tuple]:
    """The arguments of the precursor trade that stay the same all run (arrays the kernels
    update in place, sizes and fixed parameters), built once per model: those of
    `pending_by_owner` before the week and its horizon (the longest transit: nothing is due
    later), and those of `precursor_week` before and after this week's enforcement levels."""
    return per_model(model, "_precursor_arguments", lambda: _precursor_built(model))


def _precursor_built(model) -> tuple[tuple, int, tuple, tuple]:
    """`_precursor_arguments`, built."""
    makers, chem, network, posts = model.makers, model.chemicals, model.network, model.posts
    links, routes = model.links, network.routes
    owners = (model.pipeline.by_route, IN_TRANSIT, network.route_owner, len(buyers(model)))
    before = (links.slots, links.count, links.finished_only, links.lost,
              float(model.params["cartels"]["link_loss_on_seizure"]),
              makers.active, makers.country, makers.region, makers.mode, makers.chemical,
              makers.compliance, makers.capacity_kg_per_week, makers.sanctioned,
              makers.capacity_kg, makers.pressure, makers.chemical_controlled,
              makers.sales_kg)
    after = (chem.finished, chem.yield_kg_per_kg, model.controls.controlled,
             network.precursor_route, routes.post_ptr, routes.posts, routes.post_offset_weeks,
             routes.transit_weeks, network.route_entry, len(network.entry_names),
             posts.country, posts.seize_prob, posts.illicit_count, *model.pipeline.rings(),
             *PRECURSOR_FLOWS)
    return owners, int(routes.transit_weeks.max(initial=0)), before, after


def move_fentanyl(model, week) -> None:
    """Phase: cartels send loads north; each is inspected along its route and scheduled
    (`sim.actors.cartels.loads_north`). Records kg dispatched per US entry route."""
    number = week.number
    n_loads, week.loads_kg = loads_north(model, number, _trip_arguments(model),
                                         rng.stream_key(model.seed, rng.LOAD_INSPECT, number))
    model.shipments_inspected += n_loads


def _trip_arguments(model) -> tuple:
    """The arguments of `sim.kernels.trade.fentanyl_week` between the loads and the stream key
    (the week's loads' trip north), built once per model: arrays updated in place, never
    replaced, and sizes."""
    def built():
        network, posts = model.network, model.posts
        routes = network.routes
        return (model.chemicals.fentanyl, model.controls.controlled, posts.country,
                routes.post_ptr, routes.posts, posts.seize_prob, routes.post_offset_weeks,
                routes.transit_weeks, network.route_entry, len(network.entry_names),
                posts.illicit_count, *model.pipeline.rings(), *FENTANYL_FLOWS)
    return per_model(model, "_trip_arguments", built)


def receive(model, week) -> None:
    """Phase: deliveries due this week go into buyers' and dealers' stocks; records kg of
    fentanyl reaching US retail. The week's outcomes leave the pipeline and are added up per
    buyer and US entry in one kernel (`sim.kernels.trade.receive_week`)."""
    pipeline, dealers, every = model.pipeline, model.dealers, buyers(model)
    *taken, by_owner, by_entry, to_us = receive_week(week.number % pipeline.weeks,
                                                     *_receive_arguments(model))
    week.outcome = model.week_outcome = WeekOutcome(*taken)
    wholesale = dealers.wholesale_usd_per_kg()
    dealers.receive(by_entry, model.network.entry_market_share)
    fe, finished, fentanyl = by_owner.tolist()
    for b in every:
        i = b.index
        to_us += b.receive(fe[i], finished[i], fentanyl[i], wholesale, dealers)
    week.delivered_us_kg = to_us


# the rows of a week's outcome by route delivered to the routes' owners
DELIVERED = np.array([ROUTE[kind] for kind in ("precursor_delivered_fe", "finished_delivered_kg",
                                               "fentanyl_delivered_kg")], np.int64)


def _receive_arguments(model) -> tuple:
    """`receive_week`'s arguments after the week's slot, built once per model (the pipeline's
    rings are zeroed in place, never replaced)."""
    network = model.network
    return per_model(model, "_receive_arguments", lambda: (
        *model.pipeline.rings(), DELIVERED, network.route_owner, network.route_entry,
        len(buyers(model)), len(network.entry_names)))


def columns(model) -> dict[str, tuple[str, str]]:
    """Shares of the week's trade: by US entry route and by chemical."""
    out = {f"route_share_{e}": ("share of fentanyl kg sent north", "mean")
           for e in model.network.entry_names}
    out.update({f"precursor_share_{c}": ("share of chemical kg shipped", "mean")
                for c in model.chemicals.names})
    return out


# rows of the week's seizures by post (`WeekOutcome.by_post`)
PRECURSOR, FINISHED, FENTANYL = (POST[f"{goods}_seized_kg"]
                                 for goods in ("precursor", "finished", "fentanyl"))


def observe(model, week) -> dict[str, float | np.ndarray]:
    """This week's trade columns; route and chemical shares as one array each."""
    trade, out = week.trade, week.outcome
    seized = seized_by_group(out.by_post, model.posts.seizure_group, ORIGIN_POSTS + 1)
    us = seized[:, US_POSTS]
    return {
        "fentanyl_to_us_kg": week.delivered_us_kg,
        "fentanyl_seized_kg": us[FENTANYL] + us[FINISHED],
        # loads cross as this week's mix of pills and powder; finished substances as pure powder
        "fentanyl_seized_gross_kg": (us[FENTANYL] * model.dealers.gross_kg_per_pure_kg()
                                     + us[FINISHED]),
        "fentanyl_seized_mx_kg": (seized[FENTANYL, MEXICO_POSTS] + seized[FINISHED, MEXICO_POSTS]
                                  + week.lab_seized_kg),
        "precursor_shipped_kg": trade.shipped_kg,
        "precursor_seized_kg": seized[PRECURSOR, -1],
        "unscheduled_precursor_share": (trade.unscheduled_kg / trade.shipped_kg
                                        if trade.shipped_kg > 0 else 0.0),
        "fentanyl_made_kg": sum(c.made_kg for c in cartels(model)) + trade.finished_kg,
        "fentanyl_seized_origin_kg": seized[FINISHED, ORIGIN_POSTS],
        "finished_fentanyl_shipped_kg": trade.finished_kg,
        "precursor_spend_usd": float(trade.by_chemical_kg @ model.chemicals.price_usd_per_kg),
        "precursor_delivered_kg": pairwise_sum(out.precursor_delivered_kg),
        "route_share_": shares(week.loads_kg + trade.finished_entry_kg),
        "precursor_share_": shares(trade.by_chemical_kg),
    }
