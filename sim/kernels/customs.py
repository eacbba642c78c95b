"""Customs posts: the illicit consignments through each post, each post's chance of seizing a
controlled consignment, and the agencies' learning (`sim.actors.customs`)."""

import math

import numba
import numpy as np

from sim.kernels.sums import pairwise_sum, span_sum


@numba.njit(cache=True)
def count_shipments(illicit_count, post_ptr, posts, route, add):
    """Illicit consignments through each post (in place): one for every post on every listed
    route (route ids; routes' posts are posts[post_ptr[r]:post_ptr[r + 1]]), counted from zero,
    or (add) on top of those already counted."""
    if not add:
        illicit_count[:] = 0.0
    for r in route:
        for j in range(post_ptr[r], post_ptr[r + 1]):
            illicit_count[posts[j]] += 1.0


def count_shipments_np(illicit_count, post_ptr, posts, route, add):
    """NumPy twin of `count_shipments`."""
    starts, lengths = post_ptr[route], post_ptr[route + 1] - post_ptr[route]
    at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    counts = np.bincount(posts[at], minlength=illicit_count.size)
    illicit_count[:] = illicit_count + counts if add else counts


@numba.njit(cache=True)
def seizure_probability(seize_prob, inspections, multiplier, pinned, effort, agency_of, traffic,
                        illicit_count, intel, intel_bonus, detection, scan_share, capacity_multiplier,
                        targeting_gain):
    """Each post's chance of seizing a controlled consignment this week (in place): t + s x
    (1 - t), with t = detection x min(1, inspections / max(traffic, 1) x (1 + targeting_gain x
    intel)) from targeted inspections (the agency's split x the post's multiplier, plus pinned
    ones, x its agency's effort and the capacity multiplier; traffic counts the week's illicit
    consignments; intel plus its bonus, within 0-1) and s = detection x the share scanned."""
    for p in range(seize_prob.size):
        done = ((inspections[p] * multiplier[p] + pinned[p]) * effort[agency_of[p]]
                * capacity_multiplier)
        seen = traffic[p] + illicit_count[p]
        known = min(max(intel[p] + intel_bonus[p], 0.0), 1.0)
        targeted = detection[p] * min(1.0, done / max(seen, 1.0) * (1.0 + targeting_gain * known))
        scanned = detection[p] * scan_share[p]
        seize_prob[p] = targeted + scanned * (1.0 - targeted)


def seizure_probability_np(seize_prob, inspections, multiplier, pinned, effort, agency_of,
                           traffic, illicit_count, intel, intel_bonus, detection, scan_share,
                           capacity_multiplier, targeting_gain):
    """NumPy twin of `seizure_probability`."""
    done = (inspections * multiplier + pinned) * effort[agency_of] * capacity_multiplier
    seen = traffic + illicit_count
    known = np.clip(intel + intel_bonus, 0.0, 1.0)
    targeted = detection * np.minimum(1.0, done / np.maximum(seen, 1.0)
                                      * (1.0 + targeting_gain * known))
    scanned = detection * scan_share
    seize_prob[:] = targeted + scanned * (1.0 - targeted)


@numba.njit(cache=True)
def learn(inspections, yield_kg, evidence_kg, base_inspections, agency_ptr, seized_kg,
          partner_kg, sharing_weight, learning_rate, evidence_scale_kg, min_post_share,
          max_shift):
    """Every agency (posts agency_ptr[a]:agency_ptr[a + 1]) learns from the week's seizures,
    updating yield_kg (per post), evidence_kg (per agency) and inspections in place.

    Evidence at a post: kg it seized (seized_kg: one row per kind of goods, added in row order)
    plus sharing_weight[a] x kg partners seized on the routes through it (partner_kg). Expected
    yield (kg per inspection) and the agency's recent evidence move toward the week's at
    learning_rate; inspections move toward a target split, the yield-proportional split
    weighted by confidence E / (E + evidence_scale_kg), the base split by the rest, each post
    keeping at least min_post_share of its base share, at most max_shift of the pool changing
    post in a week. Agencies with fewer than two posts or no inspections keep their split.
    Sums over an agency's posts are NumPy's (`pairwise_sum`)."""
    if learning_rate <= 0:
        return
    # one scratch row per working array (pool, evidence, base, target, wanted, moves), reused
    # by every agency
    work = np.empty((6, inspections.size))
    for a in range(agency_ptr.size - 1):
        first, last = agency_ptr[a], agency_ptr[a + 1]
        n = last - first
        if n < 2:
            continue
        pool, evidence, base = work[0, :n], work[1, :n], work[2, :n]
        target, wanted, moves = work[3, :n], work[4, :n], work[5, :n]
        for i in range(n):
            pool[i] = inspections[first + i]
        total = pairwise_sum(pool)
        if not total > 0:
            continue
        for i in range(n):
            p = first + i
            own = seized_kg[0, p]
            for k in range(1, seized_kg.shape[0]):
                own += seized_kg[k, p]
            evidence[i] = own + sharing_weight[a] * partner_kg[p]
            observed = evidence[i] / max(pool[i], 1.0)
            yield_kg[p] += learning_rate * (observed - yield_kg[p])
        evidence_kg[a] += learning_rate * (pairwise_sum(evidence) - evidence_kg[a])
        scale = evidence_kg[a] + evidence_scale_kg
        confidence = evidence_kg[a] / scale if scale > 0 else 0.0
        for i in range(n):
            base[i] = base_inspections[first + i]
        base_total = pairwise_sum(base)
        for i in range(n):
            base[i] = base[i] / base_total if base_total > 0 else 1.0 / n
        expected = yield_kg[first:last]
        expected_total = pairwise_sum(expected)
        for i in range(n):
            share = expected[i] / expected_total if expected_total > 0 else base[i]
            target[i] = max(min_post_share * base[i],
                            confidence * share + (1 - confidence) * base[i])
        target_total = pairwise_sum(target)
        for i in range(n):
            wanted[i] = target[i] / target_total * total - pool[i]
            moves[i] = abs(wanted[i])
        moving = pairwise_sum(moves) / 2
        if moving > 0:
            step = min(1.0, max_shift * total / moving)
            for i in range(n):
                inspections[first + i] = pool[i] + wanted[i] * step


def learn_np(inspections, yield_kg, evidence_kg, base_inspections, agency_ptr, seized_kg,
             partner_kg, sharing_weight, learning_rate, evidence_scale_kg, min_post_share,
             max_shift):
    """NumPy twin of `learn`."""
    if learning_rate <= 0:
        return
    for a in range(agency_ptr.size - 1):
        posts = np.arange(agency_ptr[a], agency_ptr[a + 1])
        pool = inspections[posts]
        total = pool.sum()
        if posts.size < 2 or total <= 0:
            continue
        evidence = seized_kg[:, posts].sum(axis=0) + sharing_weight[a] * partner_kg[posts]
        expected = yield_kg[posts] + learning_rate * (evidence / np.maximum(pool, 1.0)
                                                      - yield_kg[posts])
        yield_kg[posts] = expected
        evidence_kg[a] += learning_rate * (evidence.sum() - evidence_kg[a])
        scale = evidence_kg[a] + evidence_scale_kg
        confidence = evidence_kg[a] / scale if scale > 0 else 0.0
        base = base_inspections[posts]
        base = base / base.sum() if base.sum() > 0 else np.full(posts.size, 1.0 / posts.size)
        share = expected / expected.sum() if expected.sum() > 0 else base
        target = np.maximum(min_post_share * base, confidence * share + (1 - confidence) * base)
        wanted = target / target.sum() * total - pool
        moving = np.abs(wanted).sum() / 2
        if moving > 0:
            inspections[posts] = pool + wanted * min(1.0, max_shift * total / moving)


@numba.njit(cache=True)
def agency_shares(inspections, agency_ptr):
    """Each post's share of its agency's inspections (agency a: posts agency_ptr[a]:agency_ptr[a
    + 1]; an agency without inspections gives 0s)."""
    out = np.empty(inspections.size)
    for a in range(agency_ptr.size - 1):
        pool = inspections[agency_ptr[a]:agency_ptr[a + 1]]
        total = max(pairwise_sum(pool), 1e-12)
        for i in range(pool.size):
            out[agency_ptr[a] + i] = pool[i] / total
    return out


def agency_shares_np(inspections, agency_ptr):
    """NumPy twin of `agency_shares`."""
    return np.concatenate([pool / max(pool.sum(), 1e-12)
                           for pool in np.split(inspections, agency_ptr[1:-1])])


@numba.njit(cache=True)
def partner_route_kg(by_route_post, sharing, agency_of, agency_ptr):
    """Per agency whose posts share intelligence (`sharing[post]`) and per route: kg its
    partners' posts (the sharing posts of other agencies) seized on the route this week
    (`by_route_post[route, post]`), summed over them in post order as NumPy sums a row of
    `by_route_post[:, partners]`; rows of agencies that do not share are 0. A route whose
    entries are all +0.0 (most: few routes see a seizure in a week) sums to +0.0 unread."""
    n_routes, n_posts = by_route_post.shape
    out = np.zeros((agency_ptr.size - 1, n_routes))
    partners, buffer = np.empty(n_posts, np.int64), np.empty(n_posts)
    seized = np.zeros(n_routes, np.bool_)   # some entry of the route is not +0.0
    for r in range(n_routes):
        for p in range(n_posts):
            if by_route_post[r, p] != 0.0 or math.copysign(1.0, by_route_post[r, p]) < 0:
                seized[r] = True
                break
    for a in range(agency_ptr.size - 1):
        if agency_ptr[a] == agency_ptr[a + 1] or not sharing[agency_ptr[a]]:
            continue
        k = 0
        for p in range(n_posts):
            if sharing[p] and agency_of[p] != a:
                partners[k] = p
                k += 1
        for r in range(n_routes):
            if seized[r]:
                for j in range(k):
                    buffer[j] = by_route_post[r, partners[j]]
                out[a, r] = span_sum(buffer, 0, k)
    return out


def partner_route_kg_np(by_route_post, sharing, agency_of, agency_ptr):
    """NumPy twin of `partner_route_kg`."""
    out = np.zeros((agency_ptr.size - 1, by_route_post.shape[0]))
    for a in range(agency_ptr.size - 1):
        if agency_ptr[a] < agency_ptr[a + 1] and sharing[agency_ptr[a]]:
            out[a] = by_route_post[:, sharing & (agency_of != a)].sum(axis=1)
    return out
