"""Each Numba kernel against its NumPy twin, and the rules the kernels encode."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from sim.actors.users import Users
from sim.kernels import cache_folder, layout, rng
from sim.kernels.layout import order_index
from sim.kernels.makers import fill_orders, fill_orders_np, maker_week, maker_week_np
from sim.kernels.shipments import inspect, inspect_np
from sim.kernels.users import (
    ABSTINENT,
    C_ABSTINENT,
    C_DEATHS,
    C_ENTERED,
    C_OVERDOSES,
    C_STARTED,
    C_SYNTHETIC,
    C_TREATMENT,
    C_USING,
    CHUNK_AGENTS,
    DEAD,
    PARALLEL_MIN_SLOTS,
    RECOVERED,
    TREATMENT,
    USING,
    bound_rate,
    byte_of,
    no_overdose,
    overdose_bounds,
    overdose_probability,
    region_of,
    step_users,
    step_users_np,
    user_rules,
)

KEY = rng.stream_key(1, 2, 3)

ROOT = Path(__file__).resolve().parents[1]


def test_stream_keys_kept_a_week_at_a_time_match_the_twin():
    for seed, week in ((1, 3), (2**63 - 1, 5217), (7, 0), (1, 3)):
        keys = [rng.stream_key(seed, stream, week) for stream in range(rng.N_STREAMS + 2)]
        assert keys == [rng.stream_key_np(seed, stream, week)
                        for stream in range(rng.N_STREAMS + 2)]
        assert len(set(keys)) == len(keys) and all(isinstance(k, np.uint64) for k in keys)
    assert rng.stream_key(1, 2, 3) != rng.stream_key(1, 2, 4) != rng.stream_key(2, 2, 4)


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
    assert not np.array_equal(a, rng.draws(5, rng.STATE_CHANGE, 10, index))
    assert not np.array_equal(a, rng.draws(5, rng.OVERDOSE, 11, index))
    assert not np.array_equal(a, rng.draws(6, rng.OVERDOSE, 10, index))
    assert np.array_equal(a, rng.draws(5, rng.OVERDOSE, 10, index))
    assert abs(np.corrcoef(a, rng.draws(5, rng.STATE_CHANGE, 10, index))[0, 1]) < 0.1


@numba.njit
def _bits31_compiled(key, index):
    out = np.empty(index.size, np.int32)
    halves = rng.halves(key)
    for k in range(index.size):
        out[k] = rng.bits31(halves, index[k])
    return out


def test_bits31_match_twin_and_are_uniform_and_independent_across_streams():
    index = np.arange(400_000)
    keys = [rng.stream_key(1, stream, 3) for stream in (rng.OVERDOSE, rng.STATE_CHANGE)]
    twin = rng.bits31_np(keys[0], index)
    assert np.array_equal(_bits31_compiled(keys[0], index), twin)
    assert np.array_equal(_bits31_compiled.py_func(keys[0], index[:500]), twin[:500])
    u = twin * rng.TO_UNIT31
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.003
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    assert counts.min() > 19_000 and counts.max() < 21_000
    # one agent's two draws a week, and neighbouring agents' draws, are uncorrelated
    other = rng.bits31_np(keys[1], index) * rng.TO_UNIT31
    for v in (other, u[1:]):
        assert abs(np.corrcoef(u[: v.size], v)[0, 1]) < 0.01
    # rare events keep their rate (1e-4 on 31-bit draws), and an agent's draws are independent:
    # two 5% events together in 0.25% of agents, a 1% and a 50% one in 0.5%
    assert abs((u < 1e-4).sum() - 40) < 4 * 40**0.5
    assert abs(((u < 0.05) & (other < 0.05)).sum() - 1000) < 4 * 1000**0.5
    assert abs(((u < 0.01) & (other >= 0.5)).sum() - 2000) < 4 * 2000**0.5


def test_threshold31_decides_as_the_draw_compared_with_p():
    """`bits31 <= threshold31(p)` is the same decision as `bits31 x 2**-31 < p`, also for p on
    the draws' grid, a step either side of a draw, outside [0, 1] and NaN."""
    draws = rng.bits31_np(KEY, np.arange(2_000))
    u = draws * rng.TO_UNIT31
    step = rng.TO_UNIT31
    probs = [0.0, 1.0, -0.5, 1.5, 0.3, 1e-12, float("nan"), *u[:20], *(u[20:40] + step),
             *(u[40:60] - step), *(u[60:80] + step / 2)]
    for p in probs:
        limit = rng.threshold31(p)
        assert np.array_equal(draws <= limit, u < p), p
        assert limit == rng.threshold31.py_func(p)


def _orders(n_orders=400, n_makers=50, seed=0):
    g = np.random.default_rng(seed)
    maker = g.integers(0, n_makers, n_orders).astype(np.int64)
    buyer = g.integers(0, 4, n_orders).astype(np.int64)
    kg = g.uniform(0, 3, n_orders)
    capacity = g.uniform(0, 10, n_makers)
    compliance = g.uniform(0, 1, n_makers).astype(np.float32)
    pressure = np.where(g.uniform(size=n_makers) < 0.5, g.uniform(size=n_makers), 0.0)
    return maker, order_index(maker, 4, buyer), kg, capacity, compliance, pressure


def test_fill_orders_matches_twin():
    args = _orders()
    shipped, refused = fill_orders(*args, KEY)
    shipped_np, refused_np = fill_orders_np(*args, KEY)
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
    index = order_index(maker, 5, buyer)
    shipped, refused = fill_orders(maker, index, kg, capacity, compliance, np.array([1.0]), KEY)
    assert refused.all() and shipped.sum() == 0
    # the same maker, chemical uncontrolled (no pressure): every order filled
    shipped, refused = fill_orders(maker, index, kg, capacity, compliance, np.array([0.0]), KEY)
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


def _users(n=20_000, seed=2, tolerance=(0.3, 1.5)):
    """(state, tolerance_mg, region_start): three regions of 1/3, 1/6 and 1/2 of the slots."""
    g = np.random.default_rng(seed)
    state = g.choice(np.array([0, 1, 1, 1, 2, 2, 3, 4, 5], np.uint8), n)
    tolerance = g.uniform(*tolerance, n).astype(np.float32)
    return state, tolerance, np.array([0, n // 3, n // 2, n], np.int64)


def _same(n, state, tolerance_mg):
    """n agents in one state and tolerance, all in region 0."""
    return (np.full(n, state, np.uint8), np.full(n, tolerance_mg, np.float32),
            np.array([0, n, n, n], np.int64))


USER_PARAMS = dict(heroin_dose_mg=0.5, uses_per_week=14.0, hazard_per_use=2e-3, hazard_exponent=2.0,
                   sigma_heroin=0.3, fatality=0.1,
                   treatment_entry_prob=0.01, treatment_after_overdose_prob=0.2,
                   treatment_exit_prob=0.05, moud_overdose_ratio=0.3, abstinence_end_prob=0.5,
                   relapse_prob=0.6, remission_prob=0.01, initiation_prob=0.02,
                   tolerance_adapt_rate=0.2, tolerance_elasticity=0.5, tolerance_loss=0.3,
                   tolerance_min_mg=0.1)


def _step(kernel, users, share=(0.2, 0.6, 1.0), mg=(1.0, 1.0, 1.5), sigma=0.8, week=0,
          **overrides):
    params = {**USER_PARAMS, **overrides}
    keys = [rng.stream_key(8, s, week) for s in (rng.OVERDOSE, rng.STATE_CHANGE)]
    state, tolerance, region_start = users
    return kernel(state, tolerance, region_start, np.array(share), np.array(mg),
                  np.full(len(share), sigma), user_rules(**params), *keys)


LARGE = dict(fatality=0.3, treatment_after_overdose_prob=0.5, treatment_entry_prob=0.2,
             remission_prob=0.3, treatment_exit_prob=0.4, abstinence_end_prob=0.7, relapse_prob=0.6,
             initiation_prob=0.25, moud_overdose_ratio=0.5)
# limits at the ends of [0, 1], and an entry probability above 1 (the entry multiplier)
EDGES = dict(fatality=1.0, treatment_after_overdose_prob=0.0, treatment_entry_prob=1.5,
             remission_prob=1.0, treatment_exit_prob=0.0, abstinence_end_prob=1.0, relapse_prob=1.0,
             initiation_prob=0.0, moud_overdose_ratio=1.0)


@pytest.mark.parametrize("rules", [{}, LARGE, EDGES], ids=["default", "large", "edges"])
@pytest.mark.parametrize("g", [2.0, 1.5])
@pytest.mark.parametrize("tolerance", [(0.3, 1.5), (0.02, 0.2)])
def test_step_users_matches_twin(g, tolerance, rules):
    """Bit for bit, also where the float32 bounds leave many overdoses to the exact rule (low
    tolerance: large hazards; g != 2: every using agent), and with large and extreme
    probabilities on the ladders."""
    a, b = _users(tolerance=tolerance), _users(tolerance=tolerance)
    counts = _step(step_users, a, hazard_exponent=g, **rules)
    counts_np = _step(step_users_np, b, hazard_exponent=g, **rules)
    assert np.array_equal(counts, counts_np)
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])
    assert counts[C_DEATHS].sum() > 0
    assert 0 < counts[C_SYNTHETIC].sum() < counts[C_DEATHS].sum()
    if rules is EDGES:   # every overdose kills, every user enters MOUD, nobody leaves it, every
        # abstinent agent relapses
        assert counts[C_OVERDOSES].sum() == counts[C_DEATHS].sum()
        assert counts[C_ABSTINENT].sum() == 0 and counts[C_STARTED].sum() == 0
        assert counts[C_USING].sum() == (b[0] == USING).sum() > 0
    else:
        assert counts[C_OVERDOSES].sum() > counts[C_DEATHS].sum()


def test_deaths_never_exceed_users_and_dead_stay_dead():
    users = _users()
    using_before = np.bincount(region_of(users[2])[users[0] == USING], minlength=3)
    dead_before = users[0] == DEAD
    counts = _step(step_users, users, initiation_prob=0.0)
    assert np.all(counts[C_DEATHS] <= using_before)
    assert np.all(users[0][dead_before] == DEAD)
    assert counts[C_USING].sum() == (users[0] == USING).sum()
    assert counts[C_TREATMENT].sum() == (users[0] == TREATMENT).sum()
    assert np.array_equal(counts[C_USING], np.bincount(region_of(users[2])[users[0] == USING],
                                                       minlength=3))


def test_users_are_stored_by_region_with_their_users_first():
    users = Users.create(1_000, 600, np.array([0.5, 0.2, 0.3]), 0.5, seed=3)
    start = users.region_start(3)
    assert start[0] == 0 and start[-1] == 1_000 and np.all(np.diff(users.region) >= 0)
    for r in range(3):
        block = users.state[start[r]:start[r + 1]]
        n_using = (block == USING).sum()
        assert np.all(block[:n_using] == USING) and np.all(block[n_using:] != USING)
    assert (users.state == USING).sum() == 600
    users.region[[0, -1]] = users.region[[-1, 0]]
    with pytest.raises(ValueError, match="not stored by region"):
        users.region_start(3)


def test_region_start_must_split_the_slots():
    state, tolerance, _ = _users(n=100)
    for bad in ([0, 50, 40, 100], [0, 30, 60, 90], [1, 30, 60, 100]):
        with pytest.raises(ValueError, match="region_start"):
            _step(step_users, (state, tolerance, np.array(bad, np.int64)))


def test_naloxone_lowers_deaths_per_overdose():
    # fatality passed to the kernel already includes naloxone: 0.12 x (1 - coverage x 0.9)
    low = _step(step_users, _users(), fatality=0.12 * (1 - 0.1 * 0.9))
    high = _step(step_users, _users(), fatality=0.12 * (1 - 0.8 * 0.9))
    assert np.array_equal(low[C_OVERDOSES], high[C_OVERDOSES])   # same draws, same overdoses
    assert high[C_DEATHS].sum() < 0.5 * low[C_DEATHS].sum()


def _within(count, n, p):
    """count is a plausible Binomial(n, p) draw (4 standard deviations)."""
    return abs(count - n * p) < 4 * (n * p * (1 - p)) ** 0.5 + 1


def test_each_state_change_keeps_its_probability():
    """One STATE_CHANGE draw decides a week's change through cumulative limits: every outcome
    must keep the probability of the rules (death f; MOUD after an overdose (1 - f) q; MOUD e
    and remission (1 - e) r without one; on MOUD, death f after an overdose, leaving l without;
    abstinent, relapse a x, recovery a (1 - x); starting s). Large probabilities so that a wrong
    limit shows."""
    n, rules = 200_000, LARGE
    f, q, e, r = (rules[k] for k in ("fatality", "treatment_after_overdose_prob",
                                      "treatment_entry_prob", "remission_prob"))
    exit_p, a, x, s = (rules[k] for k in ("treatment_exit_prob", "abstinence_end_prob",
                                          "relapse_prob", "initiation_prob"))
    for tolerance_mg in (0.05, 5.0):   # nearly all overdose; nearly none do
        users = _same(n, USING, tolerance_mg)
        counts = _step(step_users, users, **rules).sum(axis=1)
        overdosed = counts[C_OVERDOSES]
        assert overdosed > 0.9 * n if tolerance_mg < 1 else overdosed < 0.01 * n
        assert _within(counts[C_DEATHS], overdosed, f)
        entered = overdosed * (1 - f) * q + (n - overdosed) * e
        assert _within(counts[C_ENTERED], n, entered / n)
        assert _within(np.sum(users[0] == RECOVERED), n - overdosed, (1 - e) * r)
        stay = overdosed * (1 - f) * (1 - q) + (n - overdosed) * (1 - e) * (1 - r)
        assert _within(counts[C_USING], n, stay / n)
    for tolerance_mg in (0.05, 5.0):
        treated = _same(n, TREATMENT, tolerance_mg)
        counts = _step(step_users, treated, **rules).sum(axis=1)
        overdosed = counts[C_OVERDOSES]
        assert overdosed > 0.9 * n if tolerance_mg < 1 else overdosed < 0.01 * n
        assert _within(counts[C_DEATHS], overdosed, f)
        assert _within(counts[C_ABSTINENT], n - overdosed, exit_p)
        assert counts[C_ENTERED] == counts[C_USING] == 0
    abstinent = _same(n, ABSTINENT, 1.0)
    counts = _step(step_users, abstinent, **rules).sum(axis=1)
    assert counts[C_OVERDOSES] == 0
    assert _within(counts[C_USING], n, a * x)
    assert _within(np.sum(abstinent[0] == RECOVERED), n, a * (1 - x))
    idle = _same(n, RECOVERED, 1.0)
    assert _within(_step(step_users, idle, **rules)[C_STARTED].sum(), n, s)


def test_stronger_and_more_variable_supply_raises_overdoses():
    base = _step(step_users, _users(), share=(0.5, 0.5, 0.5), mg=(1.0, 1.0, 1.0))
    stronger = _step(step_users, _users(), share=(0.5, 0.5, 0.5), mg=(2.0, 2.0, 2.0))
    variable = _step(step_users, _users(), share=(0.5, 0.5, 0.5), mg=(1.0, 1.0, 1.0),
                     sigma=1.5)
    more_fentanyl = _step(step_users, _users(), share=(1.0, 1.0, 1.0), mg=(1.0, 1.0, 1.0))
    for case in (stronger, variable, more_fentanyl):
        assert case[C_OVERDOSES].sum() > 1.2 * base[C_OVERDOSES].sum()


def test_medication_protects_and_holds_tolerance_and_abstinence_lowers_it():
    """On MOUD, the same people at the same tolerance overdose at `moud_overdose_ratio` times
    the rate of people using, and keep their tolerance; abstinent after MOUD, tolerance falls,
    so those who relapse overdose more than before (the post-treatment excess comes from the
    rule, not a multiplier)."""
    n = 400_000
    using, treated = _same(n, USING, 0.3), _same(n, TREATMENT, 0.3)
    off = _step(step_users, using, share=(1.0,) * 3)[C_OVERDOSES].sum()
    on = _step(step_users, treated, share=(1.0,) * 3, treatment_exit_prob=0.0)[C_OVERDOSES].sum()
    hazard_ratio = math.log1p(-on / n) / math.log1p(-off / n)   # p = 1 - exp(-hazard)
    assert off > 10_000 and hazard_ratio == pytest.approx(0.3, abs=0.01)
    assert np.all(treated[1] == np.float32(0.3))
    abstinent = _same(10_000, ABSTINENT, 1.0)
    _step(step_users, abstinent, abstinence_end_prob=0.0, tolerance_loss=0.2)
    assert np.allclose(abstinent[1], 0.8)
    # the same people using at low vs high tolerance: low tolerance overdoses more
    low = _same(10_000, USING, 0.4)
    high = _same(10_000, USING, 1.0)
    assert _step(step_users, low)[C_OVERDOSES].sum() > 2 * _step(step_users, high)[C_OVERDOSES].sum()


@pytest.mark.parametrize("kernel", [step_users, step_users_np])
def test_synthetic_opioid_deaths_are_the_fentanyl_part_of_deaths(kernel):
    """Deaths from fentanyl doses never exceed deaths, in every region; none where no dose
    holds fentanyl, all where every dose does, and in between the fentanyl part of the hazard
    (fentanyl doses' share of E[dose^g]: here 1 x 1^2 e^0.64 against 0.5^2 e^0.09)."""
    n = 300_000
    counts = _step(kernel, _users(n=n, tolerance=(0.05, 0.2)), share=(0.0, 0.5, 1.0),
                   mg=(1.0, 1.0, 1.0))
    deaths, fentanyl = counts[C_DEATHS], counts[C_SYNTHETIC]
    assert np.all(fentanyl <= deaths) and np.all(deaths > 200)
    assert fentanyl[0] == 0 and fentanyl[2] == deaths[2]
    part = math.exp(0.64) / (math.exp(0.64) + 0.25 * math.exp(0.09))
    assert _within(fentanyl[1], deaths[1], part)


@pytest.mark.parametrize("g", [2.0, 1.5])
@pytest.mark.parametrize("rate_dose", [14 * 0.85e-4 * 3.7, 0.3, 1e-44])
def test_overdose_bounds_never_contradict_the_rule(g, rate_dose):
    """Where the float32 bounds decide, they decide as the exact rule does (u < p), even for
    draws one step either side of p x 2**31, also for a large rate and one float32 cannot hold
    (below its smallest value); for g != 2 they decide nothing. `no_overdose` (the vector
    pass's test) rules out only draws the rule gives no overdose, and never draw 0."""
    decided = ruled_out = 0
    rate32 = np.float32(rate_dose if g == 2.0 else np.nan)
    bound = bound_rate(rate_dose, g)
    assert bound == bound_rate.py_func(rate_dose, g) or (np.isnan(bound) and g != 2.0)
    for tol in np.linspace(0.02, 2.0, 60).astype(np.float32):
        p = -math.expm1(-rate_dose * float(tol) ** -g)
        assert overdose_probability(rate_dose, tol, g) == p
        edge = min(int(p / rng.TO_UNIT31), 2**31 - 1)
        for draw in {0, 1, edge - 1, edge, edge + 1, edge + 2, edge // 2,
                     min(2 * edge, 2**31 - 1), 2**31 - 1}:
            draw = np.int32(min(max(draw, 0), 2**31 - 1))
            overdose = draw * rng.TO_UNIT31 < p
            sure, undecided = overdose_bounds(draw, tol, rate32)
            if not undecided:
                assert sure == overdose, (tol, draw)
                decided += 1
            assert (sure, undecided) == overdose_bounds.py_func(draw, tol, rate32)
            none = no_overdose(draw, tol, bound)
            assert none == no_overdose.py_func(draw, tol, bound)
            if none:
                assert not overdose and draw > 0, (tol, draw)
                ruled_out += 1
    if g != 2.0:
        assert decided == ruled_out == 0
    else:   # at the smallest rate the float32 rate is 0: only the float64 rule decides
        assert decided > 100 or rate_dose < 1e-40
        assert ruled_out > 50


def test_byte_of_finds_the_flagged_agent_in_a_word():
    """The exact pass finds a flagged agent among eight by its flag bit's position."""
    for b in range(8):
        lowest = np.uint64(0x80) << np.uint64(8 * b)
        assert byte_of(lowest) == b
        state = np.zeros(8, np.uint8)
        state[b] = 0x81
        assert state.view(np.uint64)[0] & np.uint64(0x8080808080808080) == lowest


def _one_and_two_threads():
    """Run the users kernel on 1 and then 2 threads, with enough slots for its chunks to run on
    the threads (`PARALLEL_MIN_SLOTS`), and its NumPy twin; return the three results."""
    results = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        users = _users(n=PARALLEL_MIN_SLOTS + CHUNK_AGENTS // 3)
        results.append((_step(step_users, users), users))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    users = _users(n=PARALLEL_MIN_SLOTS + CHUNK_AGENTS // 3)
    return [*results, (_step(step_users_np, users), users)]


def test_step_users_identical_on_one_and_two_threads():
    """In a process with 2 numba threads, whatever the machine's cores; the same as the twin."""
    script = ("import numpy as np, tests.test_kernels as t\n"
              "(c1, u1), (c2, u2), (c3, u3) = t._one_and_two_threads()\n"
              "assert np.array_equal(c1, c2) and np.array_equal(c1, c3)\n"
              "assert all(np.array_equal(a, b) and np.array_equal(a, c)\n"
              "           for a, b, c in zip(u1, u2, u3, strict=True))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr


def test_kernel_cache_folder_follows_every_kernel_source(tmp_path):
    """A change to any kernel source (here rng.py, which users.py inlines) moves the compiled
    kernels to a new cache folder, so no stale kernel is loaded; NUMBA_CACHE_DIR is honoured."""
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    for source in (ROOT / "sim" / "kernels").glob("*.py"):
        (kernels / source.name).write_bytes(source.read_bytes())
    before = cache_folder(kernels, {})
    assert before.parent == kernels / "__pycache__"
    assert cache_folder(kernels, {"NUMBA_CACHE_DIR": "/elsewhere"}) == Path("/elsewhere") / before.name
    with (kernels / "rng.py").open("a") as rng_source:
        rng_source.write("# changed\n")
    assert cache_folder(kernels, {}) != before
    assert numba.config.CACHE_DIR.endswith(cache_folder(ROOT / "sim" / "kernels", os.environ).name)


def test_inspect_walk_and_table_take_the_same_decisions():
    """`inspect` walks the routes for few shipments and uses its table for many: both paths
    match the NumPy twin, on a mix of controlled and uncontrolled posts."""
    from sim.kernels.shipments import _table, _walk
    post_ptr, posts = _routes()
    g = np.random.default_rng(8)
    n = 400
    route = g.integers(0, 3, n).astype(np.int64)
    product = g.integers(0, 2, n).astype(np.int64)
    controls = np.array([[True, False], [False, True], [True, True]])
    prob = np.array([0.4, 0.6, 0.3])
    keys = g.integers(0, 10**6, n).astype(np.int64)
    want = inspect_np(route, product, keys, post_ptr, posts, controls, prob, KEY)
    assert np.array_equal(_walk(route, product, keys, post_ptr, posts, controls, prob, KEY), want)
    assert np.array_equal(_table(route, product, keys, post_ptr, posts, controls, prob, KEY, 2),
                          want)
    assert (want >= 0).sum() > 50 and (want == 1).any()   # seizures at first and second posts


def test_evidence_and_clocks_match_twin_and_wait_for_a_listing():
    """The UN's evidence and the national clocks in one call match the NumPy twin; in a week
    the UN would list a precursor the clocks are left to run after the listing."""
    import copy

    from sim.kernels import regulators as kr
    g = np.random.default_rng(9)
    controlled = g.random((5, 8)) < 0.4
    controlled[:, -1] = True   # fentanyl, the last product
    countries, lags = np.array([1, 2, 3]), np.array([20.0, 0.0, 5.0])
    share, seized = g.random(7) * 0.3, g.random(7) * 40
    for listing, lag_un in ((True, 1e9), (True, 2.0), (False, 2.0)):
        args = (g.integers(0, 3, 7).astype(float), g.random(7), share, seized, 0.15, 20.0,
                lag_un, listing, g.random((3, 8)) * 0.9, g.integers(0, 9, (3, 8)).astype(float),
                controlled, 0, countries, lags)
        a, b = copy.deepcopy(args), copy.deepcopy(args)
        (due, rows, ran), want = kr.evidence_and_clocks(*a), kr.evidence_and_clocks_np(*b)
        assert np.array_equal(due, want[0]) and np.array_equal(rows, want[1]) and ran == want[2]
        for x, y in zip(a[:2] + a[8:10], b[:2] + b[8:10], strict=True):
            assert np.array_equal(x, y)
        assert ran == (not (listing and due.any()))
        assert due.any() == (lag_un < 1e9)   # a short lag makes some precursor due
        if not ran:   # clocks untouched
            assert np.array_equal(a[8], args[8]) and np.array_equal(a[9], args[9])
        else:
            assert not np.array_equal(a[9], args[9])


def test_partner_route_kg_skips_routes_without_seizures_as_numpy_sums_them():
    """Routes whose entries are all +0.0 are skipped; a -0.0 entry still sums as NumPy does."""
    from sim.kernels.customs import partner_route_kg, partner_route_kg_np
    g = np.random.default_rng(10)
    agency_of = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    agency_ptr = np.array([0, 2, 5, 6, 8])
    by_route_post = g.random((12, 8)) * (g.random((12, 1)) < 0.3)   # most routes all zero
    by_route_post[1] = -0.0
    by_route_post[2, 3] = -0.0
    sharing = np.array([True, True, True, True, True, False, True, True])
    kg = partner_route_kg(by_route_post, sharing, agency_of, agency_ptr)
    want = partner_route_kg_np(by_route_post, sharing, agency_of, agency_ptr)
    assert np.array_equal(kg, want) and np.array_equal(np.signbit(kg), np.signbit(want))
    assert np.all(kg[2] == 0) and (kg[[0, 1, 3]] > 0).any()   # agency 2 does not share
    assert (by_route_post == 0).all(axis=1).sum() >= 6   # routes skipped


@pytest.mark.parametrize("shares", [[0.3, 0.2, 0.1, 0.15, 0.25], [1.0], [0.0, 2.0, 0.0, 1.0]])
def test_populate_matches_its_twin(shares):
    """The population's slots: the same states and regions as the NumPy twin (searchsorted,
    stable argsort), regions without a share left empty, over seeds and sizes."""
    from sim.kernels.users import populate, populate_np

    cum_share = np.cumsum(shares) / np.sum(shares)
    for seed, (slots, using, treated) in enumerate([(20_000, 15_000, 1_000), (7, 3, 4), (0, 0, 0)]):
        key = rng.stream_key(seed, rng.SETUP, 0)
        got = populate(key, layout.user_setup_index(0), slots, using, treated, cum_share)
        want = populate_np(key, layout.user_setup_index(0), slots, using, treated, cum_share)
        assert all(np.array_equal(g, w) and g.dtype == w.dtype for g, w in zip(got, want,
                                                                              strict=True))
        state, region = got
        assert (np.bincount(state, minlength=3)[1:3] == [using, treated]).all()
        assert np.all(np.diff(region.astype(int)) >= 0)
        assert not np.isin(region, np.flatnonzero(np.asarray(shares) == 0)).any()


def test_tally_matches_its_twin():
    """What the users keep of a week's counts: the same totals (int64), people using per region
    and in all, on MOUD and abstinent as NumPy's sums and products, bit for bit, over random
    counts and scales (NumPy sums fewer than 8 values in order)."""
    from sim.kernels.users import N_COUNTS, tally, tally_np

    g = np.random.default_rng(12)
    for n_regions in (1, 5, 7):
        for _ in range(200):
            counts = g.integers(0, 2**40, (N_COUNTS, n_regions))
            people_per_agent = float(g.random() * 10.0 ** g.integers(-3, 4))
            got = tally(counts, people_per_agent)
            want = tally_np(counts, people_per_agent)
            assert got[0].dtype == want[0].dtype and np.array_equal(got[0], want[0])
            assert np.array_equal(got[1], want[1])
            assert [float(v) for v in got[2:]] == [float(v) for v in want[2:]]
