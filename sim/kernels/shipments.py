"""Shipments crossing customs posts: precursor consignments and fentanyl loads alike."""

import numba
import numpy as np

from sim.kernels.rng import uniform, uniforms_np

MAX_POSTS_PER_ROUTE = 16


@numba.njit(cache=True)
def inspect(route, product, item_key, post_ptr, posts, post_controls, seize_prob, key):
    """For each shipment, walk its route's posts in order; at a post whose country controls the
    product, the shipment is seized with that post's seizure probability.

    Returns, per shipment, the index into `posts` of the post that seized it, or -1 (delivered).
    """
    seized_at = np.full(route.size, -1, np.int64)
    for s in range(route.size):
        r = route[s]
        for j in range(post_ptr[r], post_ptr[r + 1]):
            post = posts[j]
            if post_controls[post, product[s]]:
                draw = uniform(key, item_key[s] * MAX_POSTS_PER_ROUTE + (j - post_ptr[r]))
                if draw < seize_prob[post]:
                    seized_at[s] = j
                    break
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
