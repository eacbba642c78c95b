"""Shipments crossing customs posts: precursor consignments and fentanyl loads alike."""

import numba
import numpy as np

from sim.kernels.layout import MAX_POSTS_PER_ROUTE
from sim.kernels.rng import bits, threshold, uniforms_np


@numba.njit(cache=True)
def inspect(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key):
    """For each shipment, walk its route's posts in order; at a post whose country controls the
    product, the shipment is seized with that post's seizure probability.

    Returns, per shipment, the index into `posts` of the post that seized it, or -1 (delivered).
    The draw at each position is keyed on the shipment and the position (counter-based, so which
    draws are taken changes no decision); a seizure probability is turned into a `threshold` on
    the draw's bits. Few shipments (a week of the model's consignments or loads) walk their
    routes (`_walk`); many shipments look their thresholds up in a table of (route, product)
    x position built for the call (`_table`, branch-free): the same decisions either way."""
    n_routes, n_products = post_ptr.size - 1, post_controls.shape[1]
    longest = 0
    for r in range(n_routes):
        longest = max(longest, post_ptr[r + 1] - post_ptr[r])
    if route.size * WALK_PER_TABLE_ENTRY < n_routes * n_products * longest:
        return _walk(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key)
    return _table(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key,
                  longest)


# `inspect` walks the routes while shipments x this < the table's entries (measured: the walk
# is faster below, the table above)
WALK_PER_TABLE_ENTRY = 8


@numba.njit(cache=True)
def _walk(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key):
    """`inspect` for few shipments: each post's threshold once, each route walked until the
    shipment is seized."""
    limit = np.empty(seize_prob.size, np.int64)
    for p in range(seize_prob.size):
        limit[p] = threshold(seize_prob[p])
    seized_at = np.empty(route.size, np.int64)
    for s in range(route.size):
        first, last, item = post_ptr[route[s]], post_ptr[route[s] + 1], product[s]
        first_draw = item_key[s] * MAX_POSTS_PER_ROUTE - first   # + j: the draw at position j
        hit = -1
        for j in range(first, last):
            p = posts[j]
            if post_controls[p, item] and bits(key, first_draw + j) < limit[p]:
                hit = j
                break
        seized_at[s] = hit
    return seized_at


@numba.njit(cache=True)
def _table(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key, longest):
    """`inspect` for many shipments: `limit` holds, per (route x n_products + product) and
    position, the seizure probability as a `threshold`, or -1 where the post does not control
    the product or the route has ended. Every position up to the longest route is drawn and the
    first hit kept, without a branch: faster than stopping at the route's end or at a seizure."""
    n_routes, n_products = post_ptr.size - 1, post_controls.shape[1]
    limit = np.full((n_routes * n_products, longest), -1, np.int64)
    for r in range(n_routes):
        for j in range(post_ptr[r], post_ptr[r + 1]):
            for item in range(n_products):
                if post_controls[posts[j], item]:
                    limit[r * n_products + item, j - post_ptr[r]] = threshold(seize_prob[posts[j]])
    seized_at = np.empty(route.size, np.int64)
    for s in range(route.size):
        group = route[s] * n_products + product[s]
        first_draw = item_key[s] * MAX_POSTS_PER_ROUTE
        hit = longest
        for k in range(longest - 1, -1, -1):
            hit = k if bits(key, first_draw + k) < limit[group, k] else hit
        seized_at[s] = post_ptr[route[s]] + hit if hit < longest else -1
    return seized_at


def inspect_np(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key):
    """NumPy twin of `inspect`: one vectorised pass per position along the routes."""
    seized_at = np.full(route.size, -1, np.int64)
    length = post_ptr[route + 1] - post_ptr[route]
    for step in range(int(length.max(initial=0))):
        open_ = (seized_at < 0) & (step < length)
        j = post_ptr[route] + step
        post = posts[np.where(open_, j, 0)]
        draw = uniforms_np(key, item_key.astype(np.int64) * MAX_POSTS_PER_ROUTE + step)
        hit = open_ & post_controls[post, product] & (draw < seize_prob[post])
        seized_at[hit] = j[hit]
    return seized_at


@numba.njit(cache=True)
def schedule(by_route, by_post, by_chemical, route_post, week, transit_weeks, post_offset_weeks,
             posts, route, product, seized_at, values, delivered, seized_route, seized_post,
             seized_chemical):
    """Put each consignment's goods into the pipeline ring (`sim.pipeline.Pipeline`): delivered
    after its route's transit, or seized in the week it reaches the post at `seized_at` (an index
    into `posts`; -1 = delivered).

    values[k, i]: consignment i's kg of goods kind k. Each flow is a (ring row, values row) pair:
    `delivered` and `seized_route` add to by_route[row, week slot, route], `seized_post` to
    by_post[row, slot, post] and route_post[slot, route x posts + post], `seized_chemical` to
    by_chemical[slot, product]. Additions run flow by flow, consignments in order (as
    `np.add.at` does), so every sum is the same to the bit."""
    n_slots, n_posts = by_route.shape[1], by_post.shape[2]
    for f in range(delivered.shape[0]):
        ring, row = by_route[delivered[f, 0]], values[delivered[f, 1]]
        for i in range(route.size):
            if seized_at[i] < 0:
                ring[(week + transit_weeks[route[i]]) % n_slots, route[i]] += row[i]
    for f in range(seized_post.shape[0]):
        ring, row = by_post[seized_post[f, 0]], values[seized_post[f, 1]]
        for i in range(route.size):
            j = seized_at[i]
            if j >= 0:
                slot = (week + post_offset_weeks[j]) % n_slots
                ring[slot, posts[j]] += row[i]
                route_post[slot, route[i] * n_posts + posts[j]] += row[i]
    for f in range(seized_route.shape[0]):
        ring, row = by_route[seized_route[f, 0]], values[seized_route[f, 1]]
        for i in range(route.size):
            j = seized_at[i]
            if j >= 0:
                ring[(week + post_offset_weeks[j]) % n_slots, route[i]] += row[i]
    for f in range(seized_chemical.shape[0]):
        row = values[seized_chemical[f, 1]]
        for i in range(route.size):
            j = seized_at[i]
            if j >= 0:
                by_chemical[(week + post_offset_weeks[j]) % n_slots, product[i]] += row[i]


def schedule_np(by_route, by_post, by_chemical, route_post, week, transit_weeks,
                post_offset_weeks, posts, route, product, seized_at, values, delivered,
                seized_route, seized_post, seized_chemical):
    """NumPy twin of `schedule`."""
    n_slots, n_posts = by_route.shape[1], by_post.shape[2]
    ok = seized_at < 0
    slot = (week + transit_weeks[route[ok]]) % n_slots
    for ring, row in delivered:
        np.add.at(by_route[ring], (slot, route[ok]), values[row][ok])
    hit = np.flatnonzero(~ok)
    j = seized_at[hit]
    slot = (week + post_offset_weeks[j]) % n_slots
    for ring, row in seized_post:
        np.add.at(by_post[ring], (slot, posts[j]), values[row][hit])
        np.add.at(route_post, (slot, route[hit] * n_posts + posts[j]), values[row][hit])
    for ring, row in seized_route:
        np.add.at(by_route[ring], (slot, route[hit]), values[row][hit])
    for _, row in seized_chemical:
        np.add.at(by_chemical, (slot, product[hit]), values[row][hit])


@numba.njit(cache=True)
def take_slot(by_route, by_post, by_chemical, route_post, slot):
    """A copy of what the pipeline's rings hold in week slot `slot` (by_route[:, slot],
    by_post[:, slot], by_chemical[slot], route_post[slot]); the slot is then zeroed."""
    out = (by_route[:, slot].copy(), by_post[:, slot].copy(), by_chemical[slot].copy(),
           route_post[slot].copy())
    by_route[:, slot] = 0.0
    by_post[:, slot] = 0.0
    by_chemical[slot] = 0.0
    route_post[slot] = 0.0
    return out


def take_slot_np(by_route, by_post, by_chemical, route_post, slot):
    """NumPy twin of `take_slot`."""
    out = (by_route[:, slot].copy(), by_post[:, slot].copy(), by_chemical[slot].copy(),
           route_post[slot].copy())
    for ring in (by_route[:, slot], by_post[:, slot], by_chemical[slot], route_post[slot]):
        ring[...] = 0.0
    return out


@numba.njit(cache=True)
def pending_by_owner(by_route, kinds, route_owner, n_owners, week=0, horizon=-1):
    """kg still in the pipeline per owner of the routes: each route's kinds (rows of by_route)
    summed over the ring's week slots in slot order, added kind by kind, then added per owner in
    route order (the order NumPy's axis-0 sums and `np.bincount` take). With horizon >= 0 only
    the slots of weeks week .. week + horizon are read: when nothing lands later than that
    (`horizon`: the longest transit), the others hold only zeros of these kinds, and leaving
    out a +0.0 changes no sum of kg (which are never -0.0)."""
    n_slots, n_routes = by_route.shape[1], by_route.shape[2]
    per_route, total = np.zeros(n_routes), np.empty(n_routes)
    for k in kinds:
        ring = by_route[k]
        total[:] = 0.0
        for w in range(n_slots):   # slot by slot: each route's sum in slot order, row-wise
            if horizon < 0 or (w - week) % n_slots <= horizon:
                for r in range(n_routes):
                    total[r] += ring[w, r]
        for r in range(n_routes):
            per_route[r] += total[r]
    out = np.zeros(n_owners)
    for r in range(n_routes):
        out[route_owner[r]] += per_route[r]
    return out


def pending_by_owner_np(by_route, kinds, route_owner, n_owners, week=0, horizon=-1):
    """NumPy twin of `pending_by_owner`."""
    n_slots = by_route.shape[1]
    read = (horizon < 0) | ((np.arange(n_slots) - week) % n_slots <= horizon)
    return np.bincount(route_owner, sum(by_route[k][read].sum(axis=0) for k in kinds),
                       minlength=n_owners)
