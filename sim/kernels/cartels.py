"""Cartels' per-lab, per-load and per-route work (`sim.actors.cartels`): raids on each lab, a
week's shipment split into loads, and what each entry route lost. The decisions themselves
(raid chances, the route split, how much to send) stay with the cartel."""

import math

import numba
import numpy as np

from sim.kernels.layout import KEY_SPAN
from sim.kernels.rng import uniform, uniforms_np


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
def split_loads(kg_by_entry, load_kg, entry_routes, buyer):
    """A week's shipment (kg per US entry) in loads of at most each entry's load size, equal
    within an entry. Returns per load (route id, kg, draw index: `sim.kernels.layout.load_index`)
    and the most loads to one entry (the caller checks it against the layout)."""
    n_entries = kg_by_entry.size
    n_loads = np.zeros(n_entries, np.int64)
    for e in range(n_entries):
        if kg_by_entry[e] > 0:
            n_loads[e] = math.ceil(kg_by_entry[e] / load_kg[e])
    total = n_loads.sum()
    route, kg, keys = np.empty(total, np.int64), np.empty(total), np.empty(total, np.int64)
    n = 0
    for e in range(n_entries):
        each = kg_by_entry[e] / max(n_loads[e], 1)
        for load in range(n_loads[e]):
            route[n], kg[n] = entry_routes[e], each
            keys[n] = (buyer * n_entries + e) * KEY_SPAN + load
            n += 1
    return route, kg, keys, n_loads.max() if n_entries else 0


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
def learn_routes(route_loss, owner, route_owner, route_entry, seized_kg, delivered_kg,
                 learning_rate, forgetting_rate, prior):
    """A cartel (`owner`) learns each US entry's loss share from the week's loads on its routes
    (seized and delivered kg per route, added per entry in route order): toward the observed
    share at learning_rate where loads arrived or were seized, back toward the prior at
    forgetting_rate where none did. Updates route_loss (per entry) in place."""
    n_entries = route_loss.size
    seized, delivered = np.zeros(n_entries), np.zeros(n_entries)
    for r in range(route_owner.size):
        e = route_entry[r]
        if route_owner[r] == owner and e < n_entries:
            seized[e] += seized_kg[r]
            delivered[e] += delivered_kg[r]
    for e in range(n_entries):
        total = seized[e] + delivered[e]
        if total > 0:
            route_loss[e] += learning_rate * (seized[e] / total - route_loss[e])
        else:
            route_loss[e] += forgetting_rate * (prior - route_loss[e])


def learn_routes_np(route_loss, owner, route_owner, route_entry, seized_kg, delivered_kg,
                    learning_rate, forgetting_rate, prior):
    """NumPy twin of `learn_routes`."""
    n_entries = route_loss.size
    mine = (route_owner == owner) & (route_entry < n_entries)
    seized = np.bincount(route_entry[mine], seized_kg[mine], minlength=n_entries)
    total = seized + np.bincount(route_entry[mine], delivered_kg[mine], minlength=n_entries)
    used = total > 0
    observed = np.divide(seized, total, out=np.zeros_like(total), where=used)
    rate = np.where(used, learning_rate, forgetting_rate)
    route_loss += rate * (np.where(used, observed, prior) - route_loss)
