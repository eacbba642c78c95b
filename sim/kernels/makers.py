"""Precursor makers: filling cartel orders, and the weekly raid / switch / re-register rules.

Arrays are one entry per maker slot (see `sim.actors.makers.Makers`).
"""

import numba
import numpy as np

from sim.kernels.rng import DELIST, MAKER_ENTRY, MAKER_RAID, MAKER_RELIST, MAKER_SWITCH, uniform, uniforms_np
from sim.kernels.sums import pairwise_sum


@numba.njit(cache=True)
def fill_orders(order_maker, order_index, order_kg, capacity_kg, compliance, pressure, key):
    """Makers fill orders in array order, up to their weekly capacity, unless they refuse.

    A maker refuses an order with probability compliance x enforcement pressure on its chemical
    (the draw of the order's `order_index`, `sim.kernels.layout.order_index`).
    Returns (shipped_kg per order, refused flag per order).
    """
    remaining_kg = capacity_kg.astype(np.float64)
    shipped_kg = np.zeros(order_kg.size)
    refused = np.zeros(order_kg.size, np.uint8)
    for o in range(order_kg.size):
        m = order_maker[o]
        if uniform(key, order_index[o]) < compliance[m] * pressure[m]:
            refused[o] = 1
            continue
        kg = min(order_kg[o], remaining_kg[m])
        shipped_kg[o] = kg
        remaining_kg[m] -= kg
    return shipped_kg, refused


def fill_orders_np(order_maker, order_index, order_kg, capacity_kg, compliance, pressure, key):
    """NumPy twin of `fill_orders`."""
    u = uniforms_np(key, order_index)
    refused = (u < compliance[order_maker] * pressure[order_maker]).astype(np.uint8)
    request = np.where(refused == 1, 0.0, order_kg)
    order = np.argsort(order_maker, kind="stable")
    makers = order_maker[order]
    cum = np.cumsum(request[order])
    group_start = np.r_[0, np.flatnonzero(np.diff(makers)) + 1]
    offset = np.repeat(cum[group_start] - request[order][group_start],
                       np.diff(np.r_[group_start, makers.size]))
    before = cum - request[order] - offset
    shipped_sorted = np.clip(capacity_kg[makers] - before, 0.0, request[order])
    shipped_kg = np.empty_like(shipped_sorted)
    shipped_kg[order] = shipped_sorted
    return shipped_kg, refused


@numba.njit(cache=True)
def maker_week(active, chemical, sanctioned, compliance, online, controlled, raid_prob,
               substitute, online_exposure, switch_hazard, relist_hazard,
               raid_key, switch_key, relist_key):
    """One week of maker rules; updates the arrays in place.

    - raid: exit with probability raid_prob (x online_exposure for online sellers);
    - a maker whose chemical is controlled where it operates reconsiders at its switch_hazard:
      it quits with probability = its compliance (the draw of index m + n, `sim.kernels.layout`);
      otherwise it switches to the substitute chemical, or, when none is left uncontrolled,
      keeps selling the controlled one;
    - a sanctioned maker re-registers under a new name at rate relist_hazard.
    Returns counts [raided, switched, quit, relisted].
    """
    n = active.size
    counts = np.zeros(4, np.int64)
    for m in range(n):
        if active[m] == 0:
            continue
        exposure = online_exposure if online[m] else 1.0
        if uniform(raid_key, m) < raid_prob[m] * exposure:
            active[m] = 0
            counts[0] += 1
            continue
        if controlled[m] and uniform(switch_key, m) < switch_hazard[m]:
            if uniform(switch_key, m + n) < compliance[m]:
                active[m] = 0
                counts[2] += 1
                continue
            if substitute[m] >= 0:
                chemical[m] = substitute[m]
                counts[1] += 1
        if sanctioned[m] and uniform(relist_key, m) < relist_hazard:
            sanctioned[m] = 0
            counts[3] += 1
    return counts


def maker_week_np(active, chemical, sanctioned, compliance, online, controlled, raid_prob,
                  substitute, online_exposure, switch_hazard, relist_hazard,
                  raid_key, switch_key, relist_key):
    """NumPy twin of `maker_week`."""
    n = active.size
    idx = np.arange(n)
    live = active == 1
    exposure = np.where(online == 1, online_exposure, 1.0)
    raided = live & (uniforms_np(raid_key, idx) < raid_prob * exposure)
    deciding = live & ~raided & (controlled == 1) & (uniforms_np(switch_key, idx) < switch_hazard)
    quits = deciding & (uniforms_np(switch_key, idx + n) < compliance)
    switches = deciding & ~quits & (substitute >= 0)
    stay = live & ~raided & ~quits
    relisted = stay & (sanctioned == 1) & (uniforms_np(relist_key, idx) < relist_hazard)
    active[raided | quits] = 0
    chemical[switches] = substitute[switches]
    sanctioned[relisted] = 0
    return np.array([raided.sum(), switches.sum(), quits.sum(), relisted.sum()], np.int64)


@numba.njit(cache=True)
def begin_week(capacity_kg, pressure, chemical_controlled, capacity_kg_per_week, active,
               sanctioned, country, chemical, controlled, enforcement, watchlist_share,
               sanction_capacity_loss):
    """This week's capacity (kg: active firms' weekly capacity, a sanctioned firm's less the
    share it loses) and enforcement pressure on each firm (0-1: its country's enforcement, or
    the watch-list share of it when its chemical is not controlled there), written in place;
    chemical_controlled[m]: whether firm m's chemical is controlled where it operates
    (controlled[country, product]); enforcement per country."""
    sanctioned_factor = 1.0 - sanction_capacity_loss
    for m in range(active.size):
        capacity = np.float64(capacity_kg_per_week[m] * active[m])
        capacity_kg[m] = capacity * (sanctioned_factor if sanctioned[m] == 1 else 1.0)
        is_controlled = controlled[country[m], chemical[m]]
        chemical_controlled[m] = is_controlled
        pressure[m] = (1.0 if is_controlled else watchlist_share) * enforcement[country[m]]


def begin_week_np(capacity_kg, pressure, chemical_controlled, capacity_kg_per_week, active,
                  sanctioned, country, chemical, controlled, enforcement, watchlist_share,
                  sanction_capacity_loss):
    """NumPy twin of `begin_week`."""
    capacity_kg[:] = capacity_kg_per_week * active * np.where(
        sanctioned == 1, 1.0 - sanction_capacity_loss, 1.0)
    chemical_controlled[:] = controlled[country, chemical]
    pressure[:] = np.where(chemical_controlled, 1.0, watchlist_share) * enforcement[country]


@numba.njit(cache=True)
def raid_and_switch(raid_prob, switch_hazard, substitute, pressure, sales_kg, country, chemical,
                    substitutes, same_class, raid_rate, raid_multiplier, supplier_raid_rate,
                    switch_hazard_same, switch_hazard_new):
    """Each firm's weekly raid probability (raid_rate x pressure x its country's multiplier,
    plus its country's supplier_raid_rate if it sold last week), its substitute chemical (its
    country's in substitutes[country], -1 if none) and its hazard of reconsidering a
    controlled chemical (switch_hazard_same when the substitute is in its chemical's analog
    class or there is none, switch_hazard_new when it needs a new synthesis route), written in
    place for `maker_week`."""
    for m in range(raid_prob.size):
        c = country[m]
        sold = 1.0 if sales_kg[m] > 0 else 0.0
        raid_prob[m] = raid_rate * pressure[m] * raid_multiplier[c] + supplier_raid_rate[c] * sold
        s = substitutes[c]
        substitute[m] = s
        same = s < 0 or same_class[chemical[m], max(s, 0)]
        switch_hazard[m] = switch_hazard_same if same else switch_hazard_new


def raid_and_switch_np(raid_prob, switch_hazard, substitute, pressure, sales_kg, country,
                       chemical, substitutes, same_class, raid_rate, raid_multiplier,
                       supplier_raid_rate, switch_hazard_same, switch_hazard_new):
    """NumPy twin of `raid_and_switch`."""
    raid_prob[:] = (raid_rate * pressure * raid_multiplier[country]
                    + supplier_raid_rate[country] * (sales_kg > 0))
    substitute[:] = substitutes[country]
    same = (substitute < 0) | same_class[chemical, np.maximum(substitute, 0)]
    switch_hazard[:] = np.where(same, switch_hazard_same, switch_hazard_new)


@numba.njit(cache=True)
def delist(online, active, hazard, key):
    """Online listings of active firms taken down with probability `hazard` (the draw of the
    firm's slot); updates `online` in place."""
    for m in range(online.size):
        if active[m] == 1 and uniform(key, m) < hazard:
            online[m] = 0


def delist_np(online, active, hazard, key):
    """NumPy twin of `delist`."""
    u = uniforms_np(key, np.arange(online.size))
    online[(active == 1) & (u < hazard)] = 0


@numba.njit(cache=True)
def slot_draws(key, slots, draws_per_slot, n_draws):
    """Draws 0..n_draws-1 of each slot (`sim.kernels.layout.maker_index`: slot x
    draws_per_slot + k), as u[k, i]."""
    u = np.empty((n_draws, slots.size))
    for k in range(n_draws):
        for i in range(slots.size):
            u[k, i] = uniform(key, slots[i] * draws_per_slot + k)
    return u


def slot_draws_np(key, slots, draws_per_slot, n_draws):
    """NumPy twin of `slot_draws`."""
    return np.array([uniforms_np(key, slots * draws_per_slot + k) for k in range(n_draws)]
                    ).reshape(n_draws, slots.size)


@numba.njit(cache=True)
def firm_draws(key, slots, draws_per_slot, n_draws):
    """A new firm's draws (`slot_draws`: u[k, i]) and the two inputs of its capacity's
    Box-Muller normal (per slot: draw 2 floored at 1e-300, for the log; 2 pi x draw 3, for the
    cosine): (u, floored, angle)."""
    u = slot_draws(key, slots, draws_per_slot, n_draws)
    floored, angle = np.empty(slots.size), np.empty(slots.size)
    for i in range(slots.size):
        floored[i] = max(u[2, i], 1e-300)
        angle[i] = 2 * np.pi * u[3, i]
    return u, floored, angle


def firm_draws_np(key, slots, draws_per_slot, n_draws):
    """NumPy twin of `firm_draws`."""
    u = slot_draws_np(key, slots, draws_per_slot, n_draws)
    return u, np.maximum(u[2], 1e-300), 2 * np.pi * u[3]


@numba.njit(cache=True)
def lognormal_exponent(log_floored, cos_angle, log_sd):
    """Per slot: log_sd x the Box-Muller normal sqrt(-2 log u) x cos(angle), from NumPy's log
    and cosine of `firm_draws`' inputs (compiled log and cos can round differently)."""
    out = np.empty(log_floored.size)
    for i in range(log_floored.size):
        out[i] = log_sd * (np.sqrt(-2 * log_floored[i]) * cos_angle[i])
    return out


def lognormal_exponent_np(log_floored, cos_angle, log_sd):
    """NumPy twin of `lognormal_exponent`."""
    return log_sd * (np.sqrt(-2 * log_floored) * cos_angle)


@numba.njit(cache=True)
def serve(buyer, maker, kg, n_buyers, queue_key, refuse_key, capacity_kg, compliance, pressure,
          sales_kg):
    """Makers serve the week's orders (buyer, maker slot, kg) in a random queue: each order's
    place is the draw of its `order_index` (maker x n_buyers + buyer) under queue_key, ties kept
    in order; then `fill_orders` (refusals under refuse_key). Records each firm's sales (kg,
    float32, in place). Returns the orders in queue order (buyer, maker, kg, order index),
    shipped kg and refused flags, and the share of ordered kg filled (1 without orders)."""
    index = maker * n_buyers + buyer
    draw = np.empty(index.size)
    for o in range(index.size):
        draw[o] = uniform(queue_key, index[o])
    queue = np.argsort(draw, kind="mergesort")
    buyer, maker, kg, index = buyer[queue], maker[queue], kg[queue], index[queue]
    shipped, refused = fill_orders(maker, index, kg, capacity_kg, compliance, pressure,
                                   refuse_key)
    sales = np.zeros(sales_kg.size)
    for o in range(maker.size):
        sales[maker[o]] += shipped[o]
    for m in range(sales_kg.size):
        sales_kg[m] = sales[m]
    filled = pairwise_sum(shipped) / pairwise_sum(kg) if kg.size else 1.0
    return buyer, maker, kg, index, shipped, refused, filled


def serve_np(buyer, maker, kg, n_buyers, queue_key, refuse_key, capacity_kg, compliance,
             pressure, sales_kg):
    """NumPy twin of `serve`."""
    index = maker * n_buyers + buyer
    queue = np.argsort(uniforms_np(queue_key, index), kind="stable")
    buyer, maker, kg, index = buyer[queue], maker[queue], kg[queue], index[queue]
    shipped, refused = fill_orders_np(maker, index, kg, capacity_kg, compliance, pressure,
                                      refuse_key)
    sales_kg[:] = np.bincount(maker, shipped, minlength=sales_kg.size)
    filled = float(shipped.sum() / kg.sum()) if kg.size else 1.0
    return buyer, maker, kg, index, shipped, refused, filled


@numba.njit(cache=True)
def new_firms(slots, u, capacity_kg, compliance, chemical, region_share, mode_share, mode_ok,
              region_country, online_share, active, country, region, firm_chemical, mode,
              online, sanctioned, firm_compliance, firm_capacity, sales_kg):
    """Fill `slots` with new firms (in place) from their draws u[k, i] (`slot_draws`): region
    by the regions' shares (draw 0), shipping mode by the mode shares among the modes with a
    route from the region (draw 1: mode_ok[region, mode]), online seller with probability
    online_share (draw 5); capacity (kg/week), compliance and chemical as given per slot."""
    cum = np.cumsum(region_share)
    total = pairwise_sum(region_share)
    for i in range(slots.size):
        s, x = slots[i], u[0, i] * total
        r = 0
        while r < cum.size and cum[r] <= x:
            r += 1
        r = min(r, cum.size - 1)
        w0 = mode_ok[r, 0] * mode_share[0]
        w1 = w0 + mode_ok[r, 1] * mode_share[1]
        w2 = w1 + mode_ok[r, 2] * mode_share[2]
        y = u[1, i] * w2
        active[s] = 1
        region[s] = r
        country[s] = region_country[r]
        firm_chemical[s] = chemical[i]
        mode[s] = min(int(y >= w0) + int(y >= w1) + int(y >= w2), 2)
        online[s] = u[5, i] < online_share
        sanctioned[s] = 0
        firm_compliance[s] = compliance[i]
        firm_capacity[s] = capacity_kg[i]
        sales_kg[s] = 0.0


def new_firms_np(slots, u, capacity_kg, compliance, chemical, region_share, mode_share, mode_ok,
                 region_country, online_share, active, country, region, firm_chemical, mode,
                 online, sanctioned, firm_compliance, firm_capacity, sales_kg):
    """NumPy twin of `new_firms`."""
    where = np.searchsorted(np.cumsum(region_share), u[0] * region_share.sum(), "right")
    where = np.minimum(where, region_share.size - 1)
    cum = np.cumsum(mode_ok[where] * mode_share, axis=1)
    active[slots], region[slots], country[slots] = 1, where, region_country[where]
    firm_chemical[slots] = chemical
    mode[slots] = np.minimum((u[1][:, None] * cum[:, -1:] >= cum).sum(axis=1), 2)
    online[slots] = u[5] < online_share
    sanctioned[slots] = 0
    firm_compliance[slots], firm_capacity[slots], sales_kg[slots] = compliance, capacity_kg, 0.0


@numba.njit(cache=True)
def columns(active, sanctioned, sales_kg):
    """The makers' week columns in one pass: (active firms, sanctioned active firms, kg sold by
    sanctioned firms, summed in float32 as NumPy sums `sales_kg[sanctioned == 1]`)."""
    listed = np.empty(sales_kg.size, np.float32)
    n_active, n_listed_active, n_listed = 0, 0, 0
    for i in range(active.size):
        n_active += int(active[i])
        if sanctioned[i] == 1:
            n_listed_active += int(active[i] == 1)
            listed[n_listed] = sales_kg[i]
            n_listed += 1
    return float(n_active), float(n_listed_active), pairwise_sum(listed[:n_listed])


def columns_np(active, sanctioned, sales_kg):
    """NumPy twin of `columns`."""
    listed = sanctioned == 1
    return (float(active.sum()), float((listed & (active == 1)).sum()),
            float(sales_kg[listed].sum()))


@numba.njit(cache=True)
def adapt_week(active, chemical, sanctioned, compliance, online, controlled, pressure, sales_kg,
               country, raid_prob, switch_hazard, substitute, substitutes, same_class,
               raid_multiplier, supplier_raid_rate, rates, keys):
    """A week of the makers' own rules in one call, updating the arrays in place: how many
    firms enter (`rates[0]`, entry_per_week_max, times the unmet share `rates[1]`, the fraction
    by the draw of index 0 under keys[0]) and the first empty slots they will take (chosen
    before this week's exits); `raid_and_switch` (rates[2:5]: raid rate, same-class and
    new-route switch hazards); `maker_week` (rates[5:7]: online exposure, relist hazard);
    `delist` when its hazard rates[7] > 0. keys: the week's key of every stream
    (`sim.kernels.rng.week_keys`), each rule under its own.
    Returns (the entrants' slots, counts [raided, switched, quit, relisted])."""
    expected = rates[0] * max(0.0, rates[1])
    entrants = int(expected) + int(uniform(keys[MAKER_ENTRY], 0) < expected - int(expected))
    free = np.empty(entrants, np.int64)
    n_free = 0
    for m in range(active.size):
        if n_free == entrants:
            break
        if active[m] == 0:
            free[n_free] = m
            n_free += 1
    raid_and_switch(raid_prob, switch_hazard, substitute, pressure, sales_kg, country, chemical,
                    substitutes, same_class, rates[2], raid_multiplier, supplier_raid_rate,
                    rates[3], rates[4])
    counts = maker_week(active, chemical, sanctioned, compliance, online, controlled, raid_prob,
                        substitute, rates[5], switch_hazard, rates[6], keys[MAKER_RAID],
                        keys[MAKER_SWITCH], keys[MAKER_RELIST])
    if rates[7] > 0:
        delist(online, active, rates[7], keys[DELIST])
    return free[:n_free], counts


def adapt_week_np(active, chemical, sanctioned, compliance, online, controlled, pressure,
                  sales_kg, country, raid_prob, switch_hazard, substitute, substitutes, same_class,
                  raid_multiplier, supplier_raid_rate, rates, keys):
    """NumPy twin of `adapt_week`."""
    expected = rates[0] * max(0.0, rates[1])
    u = uniforms_np(keys[MAKER_ENTRY], np.zeros(1, np.int64))[0]
    entrants = int(expected) + int(u < expected - int(expected))
    free = np.flatnonzero(active == 0)[:entrants]
    raid_and_switch_np(raid_prob, switch_hazard, substitute, pressure, sales_kg, country,
                       chemical, substitutes, same_class, rates[2], raid_multiplier,
                       supplier_raid_rate, rates[3], rates[4])
    counts = maker_week_np(active, chemical, sanctioned, compliance, online, controlled,
                           raid_prob, substitute, rates[5], switch_hazard, rates[6],
                           keys[MAKER_RAID], keys[MAKER_SWITCH], keys[MAKER_RELIST])
    if rates[7] > 0:
        delist_np(online, active, rates[7], keys[DELIST])
    return free, counts


@numba.njit(cache=True)
def settle_entrants(free, substitutes, region_country, region, chemical, active):
    """New firms in the `free` slots make their region's first uncontrolled precursor
    (substitutes[country]); where there is none (-1) the slot stays empty (chemical 0).
    Updates chemical and active in place."""
    for i in range(free.size):
        s = free[i]
        c = substitutes[region_country[region[s]]]
        if c < 0:
            active[s] = 0
            chemical[s] = 0
        else:
            chemical[s] = c


def settle_entrants_np(free, substitutes, region_country, region, chemical, active):
    """NumPy twin of `settle_entrants`."""
    chemical[free] = substitutes[region_country][region[free]]
    gone = chemical[free] < 0
    active[free[gone]] = 0
    chemical[free[gone]] = 0


@numba.njit(cache=True)
def entrant_firms(slots, u, capacity_kg, compliance, chemical, substitutes, region_share,
                  mode_share, mode_ok, region_country, online_share, active, country, region,
                  firm_chemical, mode, online, sanctioned, firm_compliance, firm_capacity,
                  sales_kg):
    """Entrants in one call: `new_firms` in `slots`, then `settle_entrants` (each takes its
    region's first uncontrolled precursor, substitutes[country]; the slot stays empty where
    there is none)."""
    new_firms(slots, u, capacity_kg, compliance, chemical, region_share, mode_share, mode_ok,
              region_country, online_share, active, country, region, firm_chemical, mode,
              online, sanctioned, firm_compliance, firm_capacity, sales_kg)
    settle_entrants(slots, substitutes, region_country, region, firm_chemical, active)


def entrant_firms_np(slots, u, capacity_kg, compliance, chemical, substitutes, region_share,
                     mode_share, mode_ok, region_country, online_share, active, country, region,
                     firm_chemical, mode, online, sanctioned, firm_compliance, firm_capacity,
                     sales_kg):
    """NumPy twin of `entrant_firms`."""
    new_firms_np(slots, u, capacity_kg, compliance, chemical, region_share, mode_share, mode_ok,
                 region_country, online_share, active, country, region, firm_chemical, mode,
                 online, sanctioned, firm_compliance, firm_capacity, sales_kg)
    settle_entrants_np(slots, substitutes, region_country, region, firm_chemical, active)
