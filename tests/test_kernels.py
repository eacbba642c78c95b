"""Each Numba kernel against its NumPy twin, and the rules the kernels encode."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from sim.kernels import rng
from sim.kernels.makers import fill_orders, fill_orders_np, maker_week, maker_week_np
from sim.kernels.shipments import inspect, inspect_np
from sim.kernels.users import (
    C_DEATHS,
    C_OVERDOSES,
    C_TREATMENT,
    C_USING,
    DEAD,
    TREATMENT,
    USING,
    overdoses,
    step_users,
    step_users_np,
)

KEY = rng.stream_key(1, 2, 3)

ROOT = Path(__file__).resolve().parents[1]


def test_uniform_matches_twin_and_is_uniform():
    index = np.arange(200_000)
    compiled = np.array([rng.uniform(KEY, i) for i in index[:1000]])
    twin = rng.uniforms_np(rng.stream_key_np(1, 2, 3), index)
    assert np.array_equal(compiled, twin[:1000])
    assert twin.min() >= 0 and twin.max() < 1
    assert abs(twin.mean() - 0.5) < 0.005
    counts, _ = np.histogram(twin, bins=10, range=(0, 1))
    assert counts.min() > 19_000 and counts.max() < 21_000


def test_threshold_on_bits_decides_as_the_uniform_does():
    """`bits < threshold(p)` is the same decision as `uniform < p`, also for p on the draw's
    grid of 2**-53 steps, next to a draw, outside [0, 1] and NaN."""
    index = np.arange(2_000)
    draws = rng.uniforms_np(KEY, index)
    step = 2.0**-53
    probs = [0.0, 1.0, -0.5, 1.5, 0.3, 1e-12, float("nan"), *draws[:20], *(draws[20:40] + step),
             *(draws[40:60] - step)]
    for p in probs:
        limit = rng.threshold(p)
        by_bits = np.array([rng.bits(KEY, i) < limit for i in index[:200]])
        assert np.array_equal(by_bits, draws[:200] < p), p


def test_streams_and_weeks_give_different_numbers():
    index = np.arange(1000)
    a = rng.draws(5, rng.OVERDOSE, 10, index)
    assert not np.array_equal(a, rng.draws(5, rng.DEATH, 10, index))
    assert not np.array_equal(a, rng.draws(5, rng.OVERDOSE, 11, index))
    assert not np.array_equal(a, rng.draws(6, rng.OVERDOSE, 10, index))
    assert np.array_equal(a, rng.draws(5, rng.OVERDOSE, 10, index))
    assert abs(np.corrcoef(a, rng.draws(5, rng.DEATH, 10, index))[0, 1]) < 0.1


def _orders(n_orders=400, n_makers=50, seed=0):
    g = np.random.default_rng(seed)
    maker = g.integers(0, n_makers, n_orders).astype(np.int64)
    buyer = g.integers(0, 4, n_orders).astype(np.int64)
    kg = g.uniform(0, 3, n_orders)
    capacity = g.uniform(0, 10, n_makers)
    compliance = g.uniform(0, 1, n_makers).astype(np.float32)
    pressure = np.where(g.uniform(size=n_makers) < 0.5, g.uniform(size=n_makers), 0.0)
    return maker, buyer, kg, capacity, compliance, pressure


def test_fill_orders_matches_twin():
    args = _orders()
    shipped, refused = fill_orders(*args, 4, KEY)
    shipped_np, refused_np = fill_orders_np(*args, 4, KEY)
    assert np.array_equal(refused, refused_np)
    assert np.allclose(shipped, shipped_np, atol=1e-12)
    maker, _, kg, capacity, _, _ = args
    per_maker = np.bincount(maker, shipped, minlength=capacity.size)
    assert np.all(per_maker <= capacity + 1e-9)
    assert np.all(shipped <= kg + 1e-12)
    assert np.all(shipped[refused == 1] == 0)


def test_fully_compliant_maker_refuses_controlled_chemical_orders():
    maker = np.zeros(50, np.int64)
    buyer = np.arange(50, dtype=np.int64) % 5
    kg = np.ones(50)
    capacity = np.array([1000.0])
    compliance = np.array([1.0], np.float32)
    shipped, refused = fill_orders(maker, buyer, kg, capacity, compliance, np.array([1.0]), 5, KEY)
    assert refused.all() and shipped.sum() == 0
    # the same maker, chemical uncontrolled (no pressure): every order filled
    shipped, refused = fill_orders(maker, buyer, kg, capacity, compliance, np.array([0.0]), 5, KEY)
    assert not refused.any() and shipped.sum() == pytest.approx(50.0)


def _makers(n=2000, seed=1):
    g = np.random.default_rng(seed)
    return dict(
        active=(g.uniform(size=n) < 0.9).astype(np.uint8),
        chemical=g.integers(0, 5, n).astype(np.int16),
        sanctioned=(g.uniform(size=n) < 0.2).astype(np.uint8),
        compliance=g.uniform(size=n).astype(np.float32),
        online=(g.uniform(size=n) < 0.5).astype(np.uint8),
        controlled=(g.uniform(size=n) < 0.5).astype(np.uint8),
        raid_prob=g.uniform(size=n) * 0.1,
        substitute=np.where(g.uniform(size=n) < 0.8, 7, -1).astype(np.int16),
    )


def _maker_week(kernel, arrays, exposure=1.5, switch=0.2, relist=0.1):
    keys = [rng.stream_key(3, s, 9) for s in (rng.MAKER_RAID, rng.MAKER_SWITCH, rng.MAKER_RELIST)]
    return kernel(arrays["active"], arrays["chemical"], arrays["sanctioned"],
                  arrays["compliance"], arrays["online"], arrays["controlled"],
                  arrays["raid_prob"], arrays["substitute"], exposure,
                  np.full(arrays["active"].size, switch), relist, *keys)


def test_maker_week_matches_twin():
    a, b = _makers(), _makers()
    counts = _maker_week(maker_week, a)
    counts_np = _maker_week(maker_week_np, b)
    assert np.array_equal(counts, counts_np)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert counts.min() > 0  # every rule fired at least once


def test_makers_of_controlled_chemicals_switch_or_quit():
    a = _makers()
    a["raid_prob"][:] = 0.0
    before = {k: v.copy() for k, v in a.items()}
    _maker_week(maker_week, a, switch=1.0, relist=0.0)
    deciding = (before["active"] == 1) & (before["controlled"] == 1)
    stayed = deciding & (a["active"] == 1)
    can_switch = before["substitute"] >= 0
    assert np.all(a["chemical"][stayed & can_switch] == 7)      # switched to the substitute
    # with no uncontrolled substitute left, the non-compliant keep selling the controlled one
    assert np.array_equal(a["chemical"][stayed & ~can_switch],
                          before["chemical"][stayed & ~can_switch])
    assert (stayed & ~can_switch).sum() > 50
    quit_share = 1 - stayed.sum() / deciding.sum()
    assert abs(quit_share - before["compliance"][deciding].mean()) < 0.05  # compliant quit
    untouched = (before["active"] == 1) & (before["controlled"] == 0)
    assert np.array_equal(a["chemical"][untouched], before["chemical"][untouched])


def test_raids_remove_makers_under_pressure_only():
    a = _makers()
    a["raid_prob"] = np.where(np.arange(a["raid_prob"].size) % 2 == 0, 1.0, 0.0)
    before = a["active"].copy()
    _maker_week(maker_week, a, exposure=1.0, switch=0.0, relist=0.0)
    even = np.arange(before.size) % 2 == 0
    assert np.all(a["active"][even] == 0)
    assert np.array_equal(a["active"][~even], before[~even])


def _routes():
    post_ptr = np.array([0, 2, 3, 3], np.int64)    # route 0: posts 0,1; route 1: post 2; route 2: none
    posts = np.array([0, 1, 2], np.int32)
    return post_ptr, posts


def test_inspect_matches_twin_and_respects_controls():
    post_ptr, posts = _routes()
    g = np.random.default_rng(4)
    n = 5000
    route = g.integers(0, 3, n).astype(np.int64)
    product = g.integers(0, 2, n).astype(np.int64)
    controls = np.array([[True, False], [True, True], [True, True]])
    prob = np.array([0.3, 0.5, 0.2])
    keys = np.arange(n, dtype=np.int64)
    seized = inspect(route, product, keys, post_ptr, posts, controls, prob, KEY)
    assert np.array_equal(seized, inspect_np(route, product, keys, post_ptr, posts, controls,
                                             prob, KEY))
    assert np.all(seized[route == 2] == -1)                     # no posts, no seizure
    assert np.all(seized[(route == 0) & (product == 1)] != 0)   # post 0 does not control product 1
    share = (seized[route == 1] >= 0).mean()
    assert abs(share - 0.2) < 0.03


def test_certain_detection_seizes_everything():
    post_ptr, posts = _routes()
    route = np.ones(300, np.int64)
    seized = inspect(route, np.zeros(300, np.int64), np.arange(300, dtype=np.int64), post_ptr,
                     posts, np.ones((3, 1), bool), np.array([0.0, 0.0, 1.0]), KEY)
    assert np.all(seized == 2)


def _users(n=20_000, seed=2):
    g = np.random.default_rng(seed)
    state = g.choice(np.array([0, 1, 1, 1, 2, 3, 4], np.uint8), n)
    region = g.integers(0, 3, n).astype(np.uint8)
    tolerance = g.uniform(0.3, 1.5, n).astype(np.float32)
    return state, region, tolerance


USER_PARAMS = dict(heroin_mg=0.5, uses_per_week=14.0, hazard_per_use=2e-3, hazard_exponent=2.0,
                   sigma_fentanyl=0.8, sigma_heroin=0.3, fatality=0.1,
                   treatment_entry_prob=0.01, treatment_after_overdose_prob=0.2,
                   treatment_exit_prob=0.05, relapse_prob=0.6, remission_prob=0.01,
                   initiation_prob=0.02, tolerance_adapt_rate=0.2, tolerance_elasticity=0.5,
                   tolerance_loss=0.1, tolerance_min_mg=0.1)


def _step(kernel, users, share=(0.2, 0.6, 1.0), mg=(1.0, 1.0, 1.5), week=0, **overrides):
    params = {**USER_PARAMS, **overrides}
    keys = [rng.stream_key(8, s, week) for s in (rng.OVERDOSE, rng.DEATH, rng.TREATMENT,
                                                  rng.EXIT, rng.INITIATION)]
    state, region, tolerance = users
    return kernel(state, region, tolerance, np.array(share), np.array(mg), params["heroin_mg"],
                  params["uses_per_week"], params["hazard_per_use"], params["hazard_exponent"],
                  params["sigma_fentanyl"], params["sigma_heroin"], params["fatality"],
                  params["treatment_entry_prob"], params["treatment_after_overdose_prob"],
                  params["treatment_exit_prob"], params["relapse_prob"], params["remission_prob"],
                  params["initiation_prob"], params["tolerance_adapt_rate"],
                  params["tolerance_elasticity"], params["tolerance_loss"],
                  params["tolerance_min_mg"], 3, *keys)


def test_step_users_matches_twin():
    a, b = _users(), _users()
    counts = _step(step_users, a)
    counts_np = _step(step_users_np, b)
    assert np.array_equal(counts, counts_np)
    assert np.array_equal(a[0], b[0])
    assert np.allclose(a[2], b[2], rtol=1e-6)
    assert counts[C_DEATHS].sum() > 0 and counts[C_OVERDOSES].sum() > counts[C_DEATHS].sum()


def test_deaths_never_exceed_users_and_dead_stay_dead():
    users = _users()
    using_before = np.bincount(users[1][users[0] == USING], minlength=3)
    dead_before = users[0] == DEAD
    counts = _step(step_users, users, initiation_prob=0.0)
    assert np.all(counts[C_DEATHS] <= using_before)
    assert np.all(users[0][dead_before] == DEAD)
    assert counts[C_USING].sum() == (users[0] == USING).sum()
    assert counts[C_TREATMENT].sum() == (users[0] == TREATMENT).sum()


def test_naloxone_lowers_deaths_per_overdose():
    # fatality passed to the kernel already includes naloxone: 0.12 x (1 - coverage x 0.9)
    low = _step(step_users, _users(), fatality=0.12 * (1 - 0.1 * 0.9))
    high = _step(step_users, _users(), fatality=0.12 * (1 - 0.8 * 0.9))
    assert np.array_equal(low[C_OVERDOSES], high[C_OVERDOSES])   # same draws, same overdoses
    assert high[C_DEATHS].sum() < 0.5 * low[C_DEATHS].sum()


def test_stronger_and_more_variable_supply_raises_overdoses():
    base = _step(step_users, _users(), share=(0.5, 0.5, 0.5), mg=(1.0, 1.0, 1.0))
    stronger = _step(step_users, _users(), share=(0.5, 0.5, 0.5), mg=(2.0, 2.0, 2.0))
    variable = _step(step_users, _users(), share=(0.5, 0.5, 0.5), mg=(1.0, 1.0, 1.0),
                     sigma_fentanyl=1.5)
    more_fentanyl = _step(step_users, _users(), share=(1.0, 1.0, 1.0), mg=(1.0, 1.0, 1.0))
    for case in (stronger, variable, more_fentanyl):
        assert case[C_OVERDOSES].sum() > 1.2 * base[C_OVERDOSES].sum()


def test_treatment_lowers_tolerance_and_relapse_is_riskier():
    state = np.full(10_000, TREATMENT, np.uint8)
    users = (state, np.zeros(10_000, np.uint8), np.full(10_000, 1.0, np.float32))
    _step(step_users, users, treatment_exit_prob=0.0, tolerance_loss=0.2)
    assert np.allclose(users[2], 0.8)
    # the same people using at low vs high tolerance: low tolerance overdoses more
    low = (np.full(10_000, USING, np.uint8), np.zeros(10_000, np.uint8),
           np.full(10_000, 0.4, np.float32))
    high = (np.full(10_000, USING, np.uint8), np.zeros(10_000, np.uint8),
            np.full(10_000, 1.0, np.float32))
    assert _step(step_users, low)[C_OVERDOSES].sum() > 2 * _step(step_users, high)[C_OVERDOSES].sum()


@pytest.mark.parametrize("g", [2.0, 1.5])
def test_overdose_bounds_decide_exactly_as_the_formula(g):
    """The cheap bounds never change a decision, even for draws a rounding away from p."""
    rate, dose_g = 14 * 0.85e-4, 3.7
    for tol in np.linspace(0.05, 2.0, 40):
        tol = float(np.float32(tol))
        p = -math.expm1(-rate * dose_g * tol ** -g)
        for u in (p, np.nextafter(p, 0), np.nextafter(p, 1), 0.0, p * 0.5, p * 1.5, 0.999):
            assert overdoses(float(u), rate, dose_g, tol, g) == (u < p)
            assert overdoses.py_func(float(u), rate, dose_g, tol, g) == (u < p)


def _one_and_two_threads():
    """Run the users kernel on 1 and then 2 threads; return both results."""
    results = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        users = _users(n=100_000)
        results.append((_step(step_users, users), users))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return results


def test_step_users_identical_on_one_and_two_threads():
    """In a process with 2 numba threads, whatever the machine's cores."""
    script = ("import numpy as np, tests.test_kernels as t\n"
              "(c1, u1), (c2, u2) = t._one_and_two_threads()\n"
              "assert np.array_equal(c1, c2)\n"
              "assert all(np.array_equal(a, b) for a, b in zip(u1, u2, strict=True))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
