"""Precursor buyers' supplier links: which makers each buyer orders from, orders spread over them,
links lost after refusals, seizures and joint operations, new suppliers found.

Links are one row per buyer (`sim.actors.buyers.SupplierLinks`): slots[b, :count[b]] are buyer
b's maker slots, in the order its rules keep them (sorted after each week's orders, new
suppliers appended). A buyer with `finished_only` (US mail-order buyers) uses only makers of
finished substances. Draws: `sim.kernels.layout` (buyer x KEY_SPAN + maker slot or draw).
"""

import numba
import numpy as np

from sim.kernels.layout import KEY_SPAN
from sim.kernels.rng import uniform, uniforms_np
from sim.kernels.sums import pairwise_sum


@numba.njit(cache=True)
def usable(slot, buyer, finished_only, active, region, mode, chemical, precursor_route, finished):
    """Whether buyer can use maker `slot`: active, with a route from the maker to the buyer (and
    selling a finished substance, for a finished-only buyer)."""
    return (active[slot] == 1 and precursor_route[region[slot], mode[slot], buyer] >= 0
            and (not finished_only or finished[chemical[slot]]))


def usable_np(slots, buyer, finished_only, active, region, mode, chemical, precursor_route,
              finished):
    """NumPy twin of `usable`, over an array of maker slots."""
    ok = (active[slots] == 1) & (precursor_route[region[slots], mode[slots], buyer] >= 0)
    return ok & finished[chemical[slots]] if finished_only else ok


@numba.njit(cache=True)
def orders(slots, count, finished_only, wanted_kg, active, region, mode, chemical,
           precursor_route, finished, capacity_kg, yield_kg_per_kg):
    """Every buyer's orders, buyers in turn: its links to makers it can no longer use are
    dropped (in place), then wanted_kg[b] (fentanyl-equivalent kg) is spread over its suppliers
    by capacity, as kg of each one's chemical. Returns (buyer, maker slot, kg) of the orders with
    kg > 0, each buyer's in link order."""
    total = 0
    for b in range(count.size):
        total += count[b]
    buyer, maker, kg = np.empty(total, np.int64), np.empty(total, np.int64), np.empty(total)
    capacity = np.empty(slots.shape[1])
    n = 0
    for b in range(count.size):
        kept = 0
        for i in range(count[b]):
            s = slots[b, i]
            if usable(s, b, finished_only[b], active, region, mode, chemical, precursor_route,
                      finished):
                slots[b, kept] = s
                kept += 1
        count[b] = kept
        if kept == 0 or not wanted_kg[b] > 0:
            continue
        for i in range(kept):
            capacity[i] = capacity_kg[slots[b, i]]
        supply = pairwise_sum(capacity[:kept])
        if not supply > 0:
            continue
        for i in range(kept):
            s = slots[b, i]
            order_kg = wanted_kg[b] * capacity[i] / supply / yield_kg_per_kg[chemical[s]]
            if order_kg > 0:
                buyer[n], maker[n], kg[n] = b, s, order_kg
                n += 1
    return buyer[:n], maker[:n], kg[:n]


def orders_np(slots, count, finished_only, wanted_kg, active, region, mode, chemical,
              precursor_route, finished, capacity_kg, yield_kg_per_kg):
    """NumPy twin of `orders`."""
    parts = []
    for b in range(count.size):
        links = slots[b, :count[b]]
        links = links[usable_np(links, b, finished_only[b], active, region, mode, chemical,
                                precursor_route, finished)]
        count[b] = links.size
        slots[b, :links.size] = links
        capacity = capacity_kg[links]
        if links.size and wanted_kg[b] > 0 and capacity.sum() > 0:
            kg = wanted_kg[b] * capacity / capacity.sum() / yield_kg_per_kg[chemical[links]]
            parts.append((np.full(links.size, b), links, kg))
    buyer, maker, kg = (np.concatenate([p[k] for p in parts]) if parts else np.empty(0)
                        for k in range(3))
    keep = kg > 0
    return buyer[keep].astype(np.int64), maker[keep].astype(np.int64), kg[keep]


@numba.njit(cache=True)
def after_orders(slots, count, buyer, maker, refused, seized, loss_on_seizure, key, lost):
    """Each buyer drops the suppliers that refused one of its orders this week, and loses one
    whose shipment was seized with probability loss_on_seizure (the draw of buyer x KEY_SPAN +
    maker slot); its remaining links are then sorted. `lost`: a scratch flag per maker slot,
    all 0 (left so)."""
    for b in range(count.size):
        for o in range(buyer.size):
            if buyer[o] != b:
                continue
            m = maker[o]
            if refused[o] == 1 or (seized[o] and uniform(key, b * KEY_SPAN + m) < loss_on_seizure):
                lost[m] = 1
        kept = 0
        for i in range(count[b]):
            s = slots[b, i]
            if lost[s] == 0:
                slots[b, kept] = s
                kept += 1
        count[b] = kept
        slots[b, :kept].sort()
        for o in range(buyer.size):
            lost[maker[o]] = 0


def after_orders_np(slots, count, buyer, maker, refused, seized, loss_on_seizure, key, lost):
    """NumPy twin of `after_orders`."""
    for b in range(count.size):
        mine = buyer == b
        u = uniforms_np(key, b * KEY_SPAN + maker[mine])
        gone = (refused[mine] == 1) | (seized[mine] & (u < loss_on_seizure))
        links = np.setdiff1d(slots[b, :count[b]], maker[mine][gone])
        count[b] = links.size
        slots[b, :links.size] = links


@numba.njit(cache=True)
def lose_links(slots, count, maker_country, cut_prob, key):
    """Joint operations cut each link to a maker in a country they cover with that country's
    weekly cut_prob (the draw of buyer x KEY_SPAN + maker slot); links kept in order."""
    for b in range(count.size):
        kept = 0
        for i in range(count[b]):
            s = slots[b, i]
            p = cut_prob[maker_country[s]]
            if p <= 0 or uniform(key, b * KEY_SPAN + s) >= p:
                slots[b, kept] = s
                kept += 1
        count[b] = kept


def lose_links_np(slots, count, maker_country, cut_prob, key):
    """NumPy twin of `lose_links`."""
    for b in range(count.size):
        links = slots[b, :count[b]]
        keep = uniforms_np(key, b * KEY_SPAN + links) >= cut_prob[maker_country[links]]
        count[b] = keep.sum()
        slots[b, :count[b]] = links[keep]


@numba.njit(cache=True)
def search(slots, count, finished_only, links_max, rate, broker_factor, key, active, online,
           region, mode, chemical, precursor_route, finished):
    """Each buyer with fewer than links_max links meets active makers: int(rate) tries, one more
    with probability rate - int(rate) (draw 0 of buyer x KEY_SPAN + draw); try t draws a maker
    among the active ones (draw 1 + 2t) and takes up an online seller at once, an offline one
    with probability broker_factor (draw 2 + 2t), if it can use it and has no link to it yet;
    new links are appended."""
    sellers = np.empty(active.size, np.int64)   # the active makers, in slot order
    n_sellers = 0
    for s in range(active.size):
        sellers[n_sellers] = s
        n_sellers += active[s] != 0
    sellers = sellers[:n_sellers]
    whole = int(rate)
    for b in range(count.size):
        if count[b] >= links_max or sellers.size == 0:
            continue
        first = b * KEY_SPAN
        tries = whole + (1 if uniform(key, first) < rate - whole else 0)
        for t in range(tries):
            s = sellers[int(uniform(key, first + 1 + 2 * t) * sellers.size)]
            accept = online[s] != 0 or uniform(key, first + 2 + 2 * t) < broker_factor
            if not (accept and usable(s, b, finished_only[b], active, region, mode, chemical,
                                      precursor_route, finished)):
                continue
            known = False
            for i in range(count[b]):
                known = known or slots[b, i] == s
            if not known:
                slots[b, count[b]] = s
                count[b] += 1


def search_np(slots, count, finished_only, links_max, rate, broker_factor, key, active, online,
              region, mode, chemical, precursor_route, finished):
    """NumPy twin of `search`."""
    sellers = np.flatnonzero(active != 0)
    for b in range(count.size):
        if count[b] >= links_max or sellers.size == 0:
            continue
        u = uniforms_np(key, b * KEY_SPAN + np.arange(2 * int(np.ceil(rate)) + 1))
        tries = int(rate) + int(u[0] < rate - int(rate))
        picked = sellers[(u[1:1 + 2 * tries:2] * sellers.size).astype(np.int64)]
        accept = (online[picked] != 0) | (u[2:2 + 2 * tries:2] < broker_factor)
        accept &= usable_np(picked, b, finished_only[b], active, region, mode, chemical,
                            precursor_route, finished)
        for s in picked[accept]:
            if s not in slots[b, :count[b]]:
                slots[b, count[b]] = s
                count[b] += 1


@numba.njit(cache=True)
def links_week(slots, count, finished_only, maker_country, cut_prob, cut_key, links_max, rate,
               broker_factor, search_key, active, online, region, mode, chemical,
               precursor_route, finished):
    """The links' week end (`sim.actors.buyers.buyers_adapt`): joint operations cut links
    (`lose_links`, skipped when no country has operations), then buyers search for new
    suppliers (`search`, which takes the arguments from links_max). Updated in place."""
    if cut_prob.any():
        lose_links(slots, count, maker_country, cut_prob, cut_key)
    search(slots, count, finished_only, links_max, rate, broker_factor, search_key, active,
           online, region, mode, chemical, precursor_route, finished)


def links_week_np(slots, count, finished_only, maker_country, cut_prob, cut_key, *searching):
    """NumPy twin of `links_week`."""
    if cut_prob.any():
        lose_links_np(slots, count, maker_country, cut_prob, cut_key)
    search_np(slots, count, finished_only, *searching)
