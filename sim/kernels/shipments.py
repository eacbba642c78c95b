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
    The draw at each position is keyed on the shipment and the position. `limit` holds, per
    (route x n_products + product) and position, the seizure probability as a `threshold` on
    the draw's bits, or -1 where the post does not control the product or the route has ended.
    Every position up to the longest route is drawn and the first hit kept, without a branch:
    faster than stopping at the route's end or at a seizure; the extra draws are never used.
    """
    n_routes, n_products = post_ptr.size - 1, post_controls.shape[1]
    longest = 0
    for r in range(n_routes):
        longest = max(longest, post_ptr[r + 1] - post_ptr[r])
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
