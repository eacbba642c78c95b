"""The week's trade (`sim.trade`): the precursor trade in one compiled pass (`precursor_week`),
which orders shipped as consignments on which routes, the week's totals by kind, chemical and US
entry, deliveries per buyer, and the columns of seizures and shares."""

import numba
import numpy as np

from sim.kernels.buyers import after_orders, after_orders_np, orders, orders_np
from sim.kernels.customs import count_shipments, count_shipments_np
from sim.kernels.makers import begin_week, begin_week_np, serve, serve_np
from sim.kernels.shipments import inspect, inspect_np, schedule, schedule_np, take_slot, take_slot_np
from sim.kernels.sums import pairwise_sum


@numba.njit(cache=True)
def consignments(buyer, maker, shipped_kg, order_index, maker_region, maker_mode,
                 maker_chemical, precursor_route):
    """The orders that shipped (kg > 0), in order, as consignments: (order positions, route,
    product, draw index, kg); route = precursor_route[maker's region, mode, buyer]."""
    sent = np.flatnonzero(shipped_kg > 0)
    route, product = np.empty(sent.size, np.int64), np.empty(sent.size, np.int64)
    for i in range(sent.size):
        m = maker[sent[i]]
        route[i] = precursor_route[maker_region[m], maker_mode[m], buyer[sent[i]]]
        product[i] = maker_chemical[m]
    return sent, route, product, order_index[sent], shipped_kg[sent]


def consignments_np(buyer, maker, shipped_kg, order_index, maker_region, maker_mode,
                    maker_chemical, precursor_route):
    """NumPy twin of `consignments`."""
    sent = np.flatnonzero(shipped_kg > 0)
    m = maker[sent]
    return (sent, precursor_route[maker_region[m], maker_mode[m], buyer[sent]].astype(np.int64),
            maker_chemical[m].astype(np.int64), order_index[sent], shipped_kg[sent])


@numba.njit(cache=True)
def trade_totals(kg, product, route, maker_country, finished, controlled, route_entry,
                 n_chemicals, n_entries):
    """The week's consignments (kg of chemical, product, route, maker's country) in totals:
    (precursor kg, finished-substance kg, precursor kg not controlled where it was made, kg by
    chemical, finished kg by US entry route). Sums as NumPy takes them: pairwise over each
    kind's kg in order, by chemical and entry in order."""
    n = kg.size
    precursor, finished_kg, unscheduled = np.empty(n), np.empty(n), np.empty(n)
    n_pre = n_fin = n_free = 0
    by_chemical, by_entry = np.zeros(n_chemicals), np.zeros(n_entries + 1)
    for i in range(n):
        c = product[i]
        by_chemical[c] += kg[i]
        if finished[c]:
            finished_kg[n_fin] = kg[i]
            n_fin += 1
            by_entry[route_entry[route[i]]] += kg[i]
        else:
            precursor[n_pre] = kg[i]
            n_pre += 1
            if not controlled[maker_country[i], c]:
                unscheduled[n_free] = kg[i]
                n_free += 1
    return (pairwise_sum(precursor[:n_pre]), pairwise_sum(finished_kg[:n_fin]),
            pairwise_sum(unscheduled[:n_free]), by_chemical, by_entry[:n_entries])


def trade_totals_np(kg, product, route, maker_country, finished, controlled, route_entry,
                    n_chemicals, n_entries):
    """NumPy twin of `trade_totals`."""
    done = finished[product]
    free = ~controlled[maker_country, product]
    return (float(kg[~done].sum()), float(kg[done].sum()), float(kg[~done & free].sum()),
            np.bincount(product, kg, minlength=n_chemicals),
            np.bincount(route_entry[route], kg * done, minlength=n_entries + 1)[:n_entries])


@numba.njit(cache=True)
def deliveries(precursor_fe, finished_kg, fentanyl_kg, route_owner, route_entry, n_owners,
               n_entries):
    """This week's deliveries (kg per route) per owner of the routes: rows precursor (as its
    fentanyl yield), finished substances, fentanyl loads; fentanyl loads per US entry; and the
    loads' total. Added in route order, the total pairwise (as `np.bincount` and `sum` do)."""
    by_owner, by_entry = np.zeros((3, n_owners)), np.zeros(n_entries + 1)
    for r in range(route_owner.size):
        o = route_owner[r]
        by_owner[0, o] += precursor_fe[r]
        by_owner[1, o] += finished_kg[r]
        by_owner[2, o] += fentanyl_kg[r]
        by_entry[route_entry[r]] += fentanyl_kg[r]
    return by_owner, by_entry[:n_entries], pairwise_sum(by_owner[2])


def deliveries_np(precursor_fe, finished_kg, fentanyl_kg, route_owner, route_entry, n_owners,
                  n_entries):
    """NumPy twin of `deliveries`."""
    by_owner = np.array([np.bincount(route_owner, kg, minlength=n_owners)
                         for kg in (precursor_fe, finished_kg, fentanyl_kg)])
    by_entry = np.bincount(route_entry, fentanyl_kg, minlength=n_entries + 1)[:n_entries]
    return by_owner, by_entry, float(by_owner[2].sum())


@numba.njit(cache=True)
def receive_week(slot, by_route, by_post, by_chemical, route_post, delivered_rows, route_owner,
                 route_entry, n_owners, n_entries):
    """The week's outcomes taken from the pipeline's rings (`sim.kernels.shipments.take_slot`)
    and their `deliveries`, from the rows `delivered_rows` of by_route (precursor as its
    fentanyl yield, finished substances, fentanyl loads): (by_route, by_post, by_chemical,
    route_post of the week, then what `deliveries` returns)."""
    route_kg, post_kg, chemical_kg, route_post_kg = take_slot(by_route, by_post, by_chemical,
                                                              route_post, slot)
    by_owner, by_entry, loads_kg = deliveries(
        route_kg[delivered_rows[0]], route_kg[delivered_rows[1]], route_kg[delivered_rows[2]],
        route_owner, route_entry, n_owners, n_entries)
    return route_kg, post_kg, chemical_kg, route_post_kg, by_owner, by_entry, loads_kg


def receive_week_np(slot, by_route, by_post, by_chemical, route_post, delivered_rows,
                    route_owner, route_entry, n_owners, n_entries):
    """NumPy twin of `receive_week`."""
    taken = take_slot_np(by_route, by_post, by_chemical, route_post, slot)
    return (*taken, *deliveries_np(*taken[0][delivered_rows], route_owner, route_entry,
                                   n_owners, n_entries))


@numba.njit(cache=True)
def _group_sum(values, group, g, buffer):
    n = 0
    for p in range(values.size):
        if group[p] == g:
            buffer[n] = values[p]
            n += 1
    return pairwise_sum(buffer[:n])


@numba.njit(cache=True)
def seized_by_group(by_post, group, n_groups):
    """kg seized per kind of goods (rows of by_post, per post) and group of posts (group[post]:
    0..n_groups - 1, or -1 for none), each summed over its posts in order as NumPy sums a masked
    array; a last column sums every post."""
    out = np.empty((by_post.shape[0], n_groups + 1))
    buffer = np.empty(by_post.shape[1])
    for k in range(by_post.shape[0]):
        for g in range(n_groups):
            out[k, g] = _group_sum(by_post[k], group, g, buffer)
        out[k, n_groups] = pairwise_sum(by_post[k])
    return out


def seized_by_group_np(by_post, group, n_groups):
    """NumPy twin of `seized_by_group`."""
    return np.array([[row[group == g].sum() for g in range(n_groups)] + [row.sum()]
                     for row in by_post]).reshape(by_post.shape[0], n_groups + 1)


@numba.njit(cache=True)
def shares(values):
    """values / their (pairwise) sum, or 0 where the sum is not positive."""
    total = pairwise_sum(values)
    out = np.zeros(values.size)
    if total > 0:
        for i in range(values.size):
            out[i] = values[i] / total
    return out


def shares_np(values):
    """NumPy twin of `shares`."""
    return values / values.sum() if values.sum() > 0 else np.zeros(values.size)


@numba.njit(cache=True)
def fentanyl_week(week, route, kg, load_index, fentanyl, controlled, post_country, post_ptr,
                  posts, seize_prob, post_offset_weeks, transit_weeks, route_entry, n_entries,
                  illicit_count, by_route, by_post, by_chemical, route_post, delivered,
                  seized_route, seized_post, seized_chemical, inspect_key):
    """The week's fentanyl loads north (`sim.trade.move_fentanyl`; per load its route, kg pure
    and draw index), in order: inspected along their routes (`sim.kernels.shipments.inspect`),
    scheduled into the pipeline ring (`sim.kernels.shipments.schedule`; the route ids stand in
    for the products, as no chemical flow is kept), counted at the posts
    (`sim.kernels.customs.count_shipments`). Arrays are updated in place. Returns kg sent per
    US entry, added load by load as `np.bincount` does."""
    seized_at = inspect(route, np.full(route.size, fentanyl, np.int64), load_index, post_ptr,
                        posts, controlled[post_country], seize_prob, inspect_key)
    if route.size > 0:
        for i in range(route.size):
            if transit_weeks[route[i]] >= by_route.shape[1]:
                raise ValueError("a route's transit is longer than the pipeline ring")
        schedule(by_route, by_post, by_chemical, route_post, week, transit_weeks,
                 post_offset_weeks, posts, route, route, seized_at, kg.reshape((1, kg.size)),
                 delivered, seized_route, seized_post, seized_chemical)
    count_shipments(illicit_count, post_ptr, posts, route, True)
    by_entry = np.zeros(n_entries)
    for i in range(route.size):
        if route_entry[route[i]] < n_entries:
            by_entry[route_entry[route[i]]] += kg[i]
    return by_entry


@numba.njit(cache=True)
def precursor_week(week, wanted_kg,
                   slots, count, finished_only, lost, loss_on_seizure,
                   active, country, region, mode, chemical, compliance, capacity_kg_per_week,
                   sanctioned, capacity_kg, pressure, chemical_controlled, sales_kg,
                   enforcement, watchlist_share, sanction_capacity_loss,
                   finished, yield_kg_per_kg, controlled,
                   precursor_route, post_ptr, posts, post_offset_weeks, transit_weeks,
                   route_entry, n_entries, post_country, seize_prob, illicit_count,
                   by_route, by_post, by_chemical, route_post, delivered, seized_route,
                   seized_post, seized_chemical,
                   queue_key, refuse_key, inspect_key, link_key):
    """The week's precursor trade, in order (`sim.trade.precursor_trade`):

    1. makers' capacity and pressure (`sim.kernels.makers.begin_week`);
    2. every buyer orders wanted_kg[b] from its usable suppliers (`sim.kernels.buyers.orders`);
    3. makers serve the orders in a random queue (`sim.kernels.makers.serve`);
    4. what shipped is inspected along its route (`sim.kernels.shipments.inspect`) and
       scheduled into the pipeline ring (`sim.kernels.shipments.schedule`; values rows: precursor
       kg, its fentanyl yield, finished-substance kg, kg);
    5. buyers drop suppliers that refused or were caught (`sim.kernels.buyers.after_orders`);
    6. the posts count the week's consignments (`sim.kernels.customs.count_shipments`).

    Arguments, by owner: the week and wanted kg per buyer; supplier links; makers' arrays and
    this week's enforcement; chemicals and controls; routes; posts; the pipeline's rings and
    flows; the stream keys. Arrays are updated in place. Returns (consignments inspected,
    share of ordered kg filled, `trade_totals`)."""
    begin_week(capacity_kg, pressure, chemical_controlled, capacity_kg_per_week, active,
               sanctioned, country, chemical, controlled, enforcement, watchlist_share,
               sanction_capacity_loss)
    buyer, maker, kg = orders(slots, count, finished_only, wanted_kg, active, region, mode,
                              chemical, precursor_route, finished, capacity_kg, yield_kg_per_kg)
    buyer, maker, kg, index, shipped, refused, filled = serve(
        buyer, maker, kg, count.size, queue_key, refuse_key, capacity_kg, compliance, pressure,
        sales_kg)
    sent, route, product, item, sent_kg = consignments(buyer, maker, shipped, index, region,
                                                       mode, chemical, precursor_route)
    seized_at = inspect(route, product, item, post_ptr, posts, controlled[post_country],
                        seize_prob, inspect_key)
    values = np.empty((4, sent.size))
    for i in range(sent.size):
        done = finished[product[i]]
        values[0, i] = 0.0 if done else sent_kg[i]
        values[1, i] = 0.0 if done else sent_kg[i] * yield_kg_per_kg[product[i]]
        values[2, i] = sent_kg[i] if done else 0.0
        values[3, i] = sent_kg[i]
    schedule(by_route, by_post, by_chemical, route_post, week, transit_weeks, post_offset_weeks,
             posts, route, product, seized_at, values, delivered, seized_route, seized_post,
             seized_chemical)
    seized = np.zeros(maker.size, np.bool_)
    for i in range(sent.size):
        seized[sent[i]] = seized_at[i] >= 0
    after_orders(slots, count, buyer, maker, refused, seized, loss_on_seizure, link_key, lost)
    count_shipments(illicit_count, post_ptr, posts, route, False)
    totals = trade_totals(sent_kg, product, route, country[maker[sent]], finished, controlled,
                          route_entry, yield_kg_per_kg.size, n_entries)
    return sent.size, filled, totals


def fentanyl_week_np(week, route, kg, load_index, fentanyl, controlled, post_country, post_ptr,
                     posts, seize_prob, post_offset_weeks, transit_weeks, route_entry, n_entries,
                     illicit_count, by_route, by_post, by_chemical, route_post, delivered,
                     seized_route, seized_post, seized_chemical, inspect_key):
    """NumPy twin of `fentanyl_week`, from the steps' twins."""
    seized_at = inspect_np(route, np.full(route.size, fentanyl, np.int64), load_index, post_ptr,
                           posts, controlled[post_country], seize_prob, inspect_key)
    if route.size > 0:
        if transit_weeks[route].max() >= by_route.shape[1]:
            raise ValueError("a route's transit is longer than the pipeline ring")
        schedule_np(by_route, by_post, by_chemical, route_post, week, transit_weeks,
                    post_offset_weeks, posts, route, route, seized_at, kg[None, :], delivered,
                    seized_route, seized_post, seized_chemical)
    count_shipments_np(illicit_count, post_ptr, posts, route, True)
    return np.bincount(route_entry[route], kg, minlength=n_entries + 1)[:n_entries]


def precursor_week_np(week, wanted_kg,
                      slots, count, finished_only, lost, loss_on_seizure,
                      active, country, region, mode, chemical, compliance, capacity_kg_per_week,
                      sanctioned, capacity_kg, pressure, chemical_controlled, sales_kg,
                      enforcement, watchlist_share, sanction_capacity_loss,
                      finished, yield_kg_per_kg, controlled,
                      precursor_route, post_ptr, posts, post_offset_weeks, transit_weeks,
                      route_entry, n_entries, post_country, seize_prob, illicit_count,
                      by_route, by_post, by_chemical, route_post, delivered, seized_route,
                      seized_post, seized_chemical,
                      queue_key, refuse_key, inspect_key, link_key):
    """NumPy twin of `precursor_week`, from the steps' twins."""
    begin_week_np(capacity_kg, pressure, chemical_controlled, capacity_kg_per_week, active,
                  sanctioned, country, chemical, controlled, enforcement, watchlist_share,
                  sanction_capacity_loss)
    buyer, maker, kg = orders_np(slots, count, finished_only, wanted_kg, active, region, mode,
                                 chemical, precursor_route, finished, capacity_kg,
                                 yield_kg_per_kg)
    buyer, maker, kg, index, shipped, refused, filled = serve_np(
        buyer, maker, kg, count.size, queue_key, refuse_key, capacity_kg, compliance, pressure,
        sales_kg)
    sent, route, product, item, sent_kg = consignments_np(buyer, maker, shipped, index, region,
                                                          mode, chemical, precursor_route)
    seized_at = inspect_np(route, product, item, post_ptr, posts, controlled[post_country],
                           seize_prob, inspect_key)
    done = finished[product]
    values = np.array([np.where(done, 0.0, sent_kg),
                       np.where(done, 0.0, sent_kg * yield_kg_per_kg[product]),
                       np.where(done, sent_kg, 0.0), sent_kg]).reshape(4, sent.size)
    schedule_np(by_route, by_post, by_chemical, route_post, week, transit_weeks,
                post_offset_weeks, posts, route, product, seized_at, values, delivered,
                seized_route, seized_post, seized_chemical)
    seized = np.zeros(maker.size, bool)
    seized[sent] = seized_at >= 0
    after_orders_np(slots, count, buyer, maker, refused, seized, loss_on_seizure, link_key,
                    lost)
    count_shipments_np(illicit_count, post_ptr, posts, route, False)
    totals = trade_totals_np(sent_kg, product, route, country[maker[sent]], finished, controlled,
                             route_entry, yield_kg_per_kg.size, n_entries)
    return sent.size, filled, totals
