"""Cartels' per-lab, per-load and per-route work (`sim.actors.cartels`): raids on each lab, the
week's split over US entries and the share of the sales target sent, the shipment split into
loads, and what each entry route lost; and, for every cartel at once, the week's loads with their
trip north (`loads_week`) and their learning (`learn_week`). The decisions' rules (raid
chances, the logit of route utilities, deterrence) are the cartel's, documented there."""

import math

import numba
import numpy as np

from sim.kernels.layout import KEY_SPAN
from sim.kernels.rng import uniform, uniforms_np
from sim.kernels.sums import pairwise_sum
from sim.kernels.trade import fentanyl_week, fentanyl_week_np


@numba.njit(cache=True)
def lab_raids(n_labs, first_index, attempt_key, success_key, attempt, success):
    """Raids on a cartel's labs: lab l (draw index first_index + l) is raided with probability
    `attempt` (under attempt_key), and the raid succeeds with probability `success` (under
    success_key). Returns (raids attempted, labs taken)."""
    attempts = wins = 0
    for lab in range(n_labs):
        if uniform(attempt_key, first_index + lab) < attempt:
            attempts += 1
            if uniform(success_key, first_index + lab) < success:
                wins += 1
    return attempts, wins


def lab_raids_np(n_labs, first_index, attempt_key, success_key, attempt, success):
    """NumPy twin of `lab_raids`."""
    labs = first_index + np.arange(n_labs)
    attempts = uniforms_np(attempt_key, labs) < attempt
    wins = attempts & (uniforms_np(success_key, labs) < success)
    return int(attempts.sum()), int(wins.sum())


@numba.njit(cache=True)
def entry_loads(kg, load_kg):
    """How many loads of at most load_kg carry kg to one US entry (none for no kg)."""
    return math.ceil(kg / load_kg) if kg > 0 else 0


@numba.njit(cache=True)
def write_loads(kg_by_entry, load_kg, entry_routes, buyer, route, kg, keys, n):
    """Writes a shipment's loads (`split_loads`) into route, kg and keys from position n.
    Returns (the position after them, the most loads to one entry)."""
    n_entries = kg_by_entry.size
    most = 0
    for e in range(n_entries):
        n_loads = entry_loads(kg_by_entry[e], load_kg[e])
        each = kg_by_entry[e] / max(n_loads, 1)
        for load in range(n_loads):
            route[n], kg[n] = entry_routes[e], each
            keys[n] = (buyer * n_entries + e) * KEY_SPAN + load
            n += 1
        most = max(most, n_loads)
    return n, most


@numba.njit(cache=True)
def split_loads(kg_by_entry, load_kg, entry_routes, buyer):
    """A week's shipment (kg per US entry) in loads of at most each entry's load size, equal
    within an entry. Returns per load (route id, kg, draw index: `sim.kernels.layout.load_index`)
    and the most loads to one entry (the caller checks it against the layout)."""
    total = 0
    for e in range(kg_by_entry.size):
        total += entry_loads(kg_by_entry[e], load_kg[e])
    route, kg, keys = np.empty(total, np.int64), np.empty(total), np.empty(total, np.int64)
    most = write_loads(kg_by_entry, load_kg, entry_routes, buyer, route, kg, keys, 0)[1]
    return route, kg, keys, most


def split_loads_np(kg_by_entry, load_kg, entry_routes, buyer):
    """NumPy twin of `split_loads`."""
    n_loads = np.where(kg_by_entry > 0, np.ceil(kg_by_entry / load_kg), 0).astype(np.int64)
    entry = np.repeat(np.arange(kg_by_entry.size), n_loads)
    kg = np.repeat(kg_by_entry / np.maximum(n_loads, 1), n_loads)
    first = np.repeat(np.cumsum(n_loads) - n_loads, n_loads)
    keys = (buyer * kg_by_entry.size + entry) * KEY_SPAN + np.arange(entry.size) - first
    return (entry_routes[entry].astype(np.int64), kg, keys,
            int(n_loads.max(initial=0)))


@numba.njit(cache=True)
def route_utility(route_loss, cost_share, has_route, risk_aversion, cost_weight, utility, loss):
    """Each US entry's utility to a cartel, -(risk_aversion x expected loss share + cost_weight
    x cost share), less the best over the entries it has a route to (has_route; route_loss is
    NaN elsewhere and counts as 0), written to utility, and the expected loss shares so
    counted, written to loss."""
    n = route_loss.size
    top = -np.inf
    for e in range(n):
        loss[e] = route_loss[e] if has_route[e] else 0.0
        utility[e] = -(risk_aversion * loss[e] + cost_weight * cost_share[e])
        if has_route[e]:
            top = max(top, utility[e])
    for e in range(n):
        utility[e] -= top


@numba.njit(cache=True)
def route_split(weight, loss, cost_share, has_route, prior, elasticity, split):
    """A cartel's split of the week's shipment over US entries, written to split: each entry
    it has a route to in proportion to its weight (exp of `route_utility`, a logit). Returns
    the share of its sales target it sends: (expected share of value kept / that share at the
    prior loss)^elasticity, at most 1."""
    for e in range(weight.size):
        split[e] = weight[e] if has_route[e] else 0.0
    total = pairwise_sum(split)
    for e in range(weight.size):
        split[e] /= total
    expected_cost = np.dot(split, cost_share)
    kept = 1.0 - np.dot(split, loss) - expected_cost
    kept_at_prior = 1.0 - prior - expected_cost
    return min(1.0, max(0.0, kept) / max(kept_at_prior, 1e-9)) ** elasticity


def route_utility_np(route_loss, cost_share, has_route, risk_aversion, cost_weight, utility,
                     loss):
    """NumPy twin of `route_utility`."""
    loss[:] = np.where(has_route, route_loss, 0.0)
    utility[:] = -(risk_aversion * loss + cost_weight * cost_share)
    utility -= utility[has_route].max()


def route_split_np(weight, loss, cost_share, has_route, prior, elasticity, split):
    """NumPy twin of `route_split`."""
    weight = np.where(has_route, weight, 0.0)
    split[:] = weight / weight.sum()
    expected_cost = float(split @ cost_share)
    kept = 1.0 - float(split @ loss) - expected_cost
    kept_at_prior = 1.0 - prior - expected_cost
    return min(1.0, max(0.0, kept) / max(kept_at_prior, 1e-9)) ** elasticity


# --- every cartel at once (row c of each 2-D argument, element c of each 1-D one: cartel c) ---
@numba.njit(cache=True)
def utilities(route_loss, cost_share, has_route, risk_aversion, cost_weight, utility, loss):
    """`route_utility` of every cartel, written to utility and loss (a row each)."""
    for c in range(route_loss.shape[0]):
        route_utility(route_loss[c], cost_share[c], has_route[c], risk_aversion, cost_weight,
                      utility[c], loss[c])


def utilities_np(route_loss, cost_share, has_route, risk_aversion, cost_weight, utility, loss):
    """NumPy twin of `utilities`."""
    for c in range(route_loss.shape[0]):
        route_utility_np(route_loss[c], cost_share[c], has_route[c], risk_aversion, cost_weight,
                         utility[c], loss[c])


@numba.njit(cache=True)
def loads(weight, loss, cost_share, has_route, prior, elasticity, split, stock_kg, target_kg,
          send_share, load_kg, entry_routes, buyer):
    """Every cartel's loads north: a cartel with stock, a sales target and a route splits the
    week's shipment over US entries (`route_split` of the weights, exp of `utilities`: split and
    send_share updated), sends min(stock, target) x send_share (taken from stock_kg) and cuts it
    into loads (`split_loads`). Returns the loads of all cartels, in cartel order, as
    `split_loads` does (the most loads to one entry over the cartels)."""
    ship = np.zeros(stock_kg.size)   # kg each cartel sends
    total = 0
    for c in range(stock_kg.size):
        if min(stock_kg[c], target_kg[c]) <= 0 or not has_route[c].any():
            continue
        send_share[c] = route_split(weight[c], loss[c], cost_share[c], has_route[c], prior,
                                    elasticity, split[c])
        ship_kg = min(stock_kg[c], target_kg[c]) * send_share[c]
        if ship_kg <= 0:
            continue
        stock_kg[c] -= ship_kg
        ship[c] = ship_kg
        for e in range(split.shape[1]):
            total += entry_loads(ship_kg * split[c, e], load_kg[c, e])
    route, kg, keys = np.empty(total, np.int64), np.empty(total), np.empty(total, np.int64)
    n = most = 0
    for c in range(stock_kg.size):
        if ship[c] > 0:
            n, most_c = write_loads(ship[c] * split[c], load_kg[c], entry_routes[c], buyer[c],
                                    route, kg, keys, n)
            most = max(most, most_c)
    return route, kg, keys, most


def loads_np(weight, loss, cost_share, has_route, prior, elasticity, split, stock_kg, target_kg,
             send_share, load_kg, entry_routes, buyer):
    """NumPy twin of `loads`."""
    parts = [(np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64), 0)]
    for c in range(stock_kg.size):
        if min(stock_kg[c], target_kg[c]) <= 0 or not has_route[c].any():
            continue
        send_share[c] = route_split_np(weight[c], loss[c], cost_share[c], has_route[c], prior,
                                       elasticity, split[c])
        ship_kg = min(stock_kg[c], target_kg[c]) * send_share[c]
        if ship_kg > 0:
            stock_kg[c] -= ship_kg
            parts.append(split_loads_np(ship_kg * split[c], load_kg[c], entry_routes[c],
                                        buyer[c]))
    return (*(np.concatenate([part[k] for part in parts]) for k in range(3)),
            max(part[3] for part in parts))


@numba.njit(cache=True)
def learn_all_routes(route_loss, owner, route_owner, route_entry, seized_kg, delivered_kg,
                     learning_rate, forgetting_rate, prior):
    """Every cartel (owner[c]: cartel c's index among the buyers) learns each US entry's loss
    share from the week's loads on its routes (seized and delivered kg per route, added per
    entry in route order): toward the observed share at learning_rate where loads arrived or
    were seized, back toward the prior at forgetting_rate where none did. Updates route_loss
    (row c: cartel c's, per entry) in place."""
    n_cartels, n_entries = route_loss.shape
    seized, delivered = np.zeros((n_cartels, n_entries)), np.zeros((n_cartels, n_entries))
    for r in range(route_owner.size):
        e = route_entry[r]
        if e < n_entries:
            for c in range(n_cartels):
                if route_owner[r] == owner[c]:
                    seized[c, e] += seized_kg[r]
                    delivered[c, e] += delivered_kg[r]
    for c in range(n_cartels):
        for e in range(n_entries):
            total = seized[c, e] + delivered[c, e]
            if total > 0:
                route_loss[c, e] += learning_rate * (seized[c, e] / total - route_loss[c, e])
            else:
                route_loss[c, e] += forgetting_rate * (prior - route_loss[c, e])


def learn_all_routes_np(route_loss, owner, route_owner, route_entry, seized_kg, delivered_kg,
                        learning_rate, forgetting_rate, prior):
    """NumPy twin of `learn_all_routes`."""
    n_entries = route_loss.shape[1]
    for c in range(owner.size):
        mine = (route_owner == owner[c]) & (route_entry < n_entries)
        seized = np.bincount(route_entry[mine], seized_kg[mine], minlength=n_entries)
        total = seized + np.bincount(route_entry[mine], delivered_kg[mine], minlength=n_entries)
        used = total > 0
        observed = np.divide(seized, total, out=np.zeros_like(total), where=used)
        rate = np.where(used, learning_rate, forgetting_rate)
        route_loss[c] += rate * (np.where(used, observed, prior) - route_loss[c])


@numba.njit(cache=True)
def loads_week(weight, loss, cost_share, has_route, prior, elasticity, split, stock_kg, target_kg,
               send_share, load_kg, entry_routes, buyer,
               week, fentanyl, controlled, post_country, post_ptr, posts, seize_prob,
               post_offset_weeks, transit_weeks, route_entry, n_entries, illicit_count, by_route,
               by_post, by_chemical, route_post, delivered, seized_route, seized_post,
               seized_chemical, inspect_key):
    """The week's fentanyl north (`sim.trade.move_fentanyl`): every cartel's `loads`, then their
    trip (`sim.kernels.trade.fentanyl_week`, which takes the arguments after `buyer`). Arrays
    are updated in place. Returns (loads sent, kg sent per US entry, the most loads one cartel
    sent to one entry)."""
    route, kg, keys, most = loads(weight, loss, cost_share, has_route, prior, elasticity, split,
                                  stock_kg, target_kg, send_share, load_kg, entry_routes, buyer)
    by_entry = fentanyl_week(week, route, kg, keys, fentanyl, controlled, post_country, post_ptr,
                             posts, seize_prob, post_offset_weeks, transit_weeks, route_entry,
                             n_entries, illicit_count, by_route, by_post, by_chemical, route_post,
                             delivered, seized_route, seized_post, seized_chemical, inspect_key)
    return route.size, by_entry, most


def loads_week_np(weight, loss, cost_share, has_route, prior, elasticity, split, stock_kg,
                  target_kg, send_share, load_kg, entry_routes, buyer, week, *trip):
    """NumPy twin of `loads_week`."""
    route, kg, keys, most = loads_np(weight, loss, cost_share, has_route, prior, elasticity,
                                     split, stock_kg, target_kg, send_share, load_kg,
                                     entry_routes, buyer)
    return route.size, fentanyl_week_np(week, route, kg, keys, *trip), most


@numba.njit(cache=True)
def learn_week(route_loss, owner, route_owner, route_entry, seized_kg, delivered_kg,
               learning_rate, forgetting_rate, prior,
               cost_share, has_route, risk_aversion, cost_weight, utility, loss):
    """The cartels' week end (`sim.actors.cartels.Cartel.week_end`): every cartel learns its
    routes' losses (`learn_all_routes`, which takes the arguments to prior) and weighs its
    routes again (`utilities`, the arguments after prior). Updated in place."""
    learn_all_routes(route_loss, owner, route_owner, route_entry, seized_kg, delivered_kg,
                     learning_rate, forgetting_rate, prior)
    utilities(route_loss, cost_share, has_route, risk_aversion, cost_weight, utility, loss)


def learn_week_np(*args):
    """NumPy twin of `learn_week`."""
    learn_all_routes_np(*args[:9])
    utilities_np(args[0], *args[9:])
