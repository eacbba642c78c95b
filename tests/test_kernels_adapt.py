"""Issue 20, the adapt phases: the makers' new-firm kernels against their NumPy twins (and the
NumPy functions they stand between), and what the phases keep per model or per agent against
what it stands for."""

import numpy as np
import pytest

from sim.actors import buyers as buyer_actors
from sim.actors import customs as customs_actors
from sim.actors.cartels import Cartel
from sim.countries import CHINA
from sim.events import BY_POLICY
from sim.kernels import makers as km
from sim.kernels import rng
from sim.kernels.regulators import first_uncontrolled_np
from sim.model import FentanylModel
from tests.conftest import SMALL


@pytest.fixture(scope="module")
def model():
    """The small baseline after a few weeks."""
    model = FentanylModel(SMALL, weeks=20)
    model.run(8)
    return model


def test_firm_draws_and_lognormal_exponent_match_twins_and_numpy():
    slots = np.array([0, 3, 17, 400, 2999])
    for week in (0, 7, 301):
        key = rng.stream_key(5, rng.ENTRANT, week)
        u, floored, angle = km.firm_draws(key, slots, 8, 6)
        u_np, floored_np, angle_np = km.firm_draws_np(key, slots, 8, 6)
        for x, y in ((u, u_np), (floored, floored_np), (angle, angle_np)):
            assert np.array_equal(x, y)
    g = np.random.default_rng(3)
    u = g.random((2, 50_000))
    u[0, :3] = 0.0   # floored at 1e-300
    floored, angle = np.maximum(u[0], 1e-300), 2 * np.pi * u[1]
    assert floored.min() == 1e-300
    for log_sd in (0.0, 0.7, 1.0, 2.5):
        exponent = km.lognormal_exponent(np.log(floored), np.cos(angle), log_sd)
        assert np.array_equal(exponent,
                              km.lognormal_exponent_np(np.log(floored), np.cos(angle), log_sd))
        # what Makers.create computed with NumPy before, bit for bit
        before = log_sd * (np.sqrt(-2 * np.log(floored)) * np.cos(angle))
        assert np.array_equal(exponent.view(np.int64), before.view(np.int64))


def test_substitutes_follow_every_control_set(model):
    controls, day = model.controls, model.date
    candidate = ~model.chemicals.finished & model.chemicals.available(day)
    first = controls.substitutes(day).copy()
    assert np.array_equal(first, first_uncontrolled_np(controls.controlled, candidate))
    assert first[CHINA] >= 0
    controls.set(CHINA, [int(first[CHINA])], True, model.week, BY_POLICY, "test")
    after = controls.substitutes(day)
    assert after[CHINA] != first[CHINA]
    assert np.array_equal(after, first_uncontrolled_np(controls.controlled, candidate))
    controls.set(CHINA, [int(first[CHINA])], False, model.week, BY_POLICY, "test")
    assert np.array_equal(controls.substitutes(day), first)


def test_kept_arguments_stand_for_the_agents(model):
    # customs_adapt: each agency's posts are its range of Posts
    kept, rule = customs_actors._adapt_arguments(model)
    agencies = customs_actors.agencies(model)
    assert [k[0] for k in kept] == [a.index for a in agencies]
    for (_, first, end, passes), agency in zip(kept, agencies, strict=True):
        assert np.array_equal(np.arange(first, end), agency.posts)
        assert passes is agency.route_passes
    assert len(rule) == 4
    # buyers_adapt: only the kinds that learn at the week's end are called
    every, kinds = buyer_actors._kept(model)
    assert kinds == (Cartel,) and len(every) > sum(isinstance(b, Cartel) for b in every)
    # makers: adapt_week's arrays are the makers' own
    makers = model.makers
    assert makers.adapt_arrays[0] is makers.active and makers.adapt_arrays[-1] is makers.substitute
    assert np.shares_memory(makers.adapt_arrays[5], makers.chemical_controlled)


def test_national_clocks_lags_are_the_members_lags(model):
    from sim.actors.regulators import EvidenceAndClocks, NationalClocks, _week_order
    groups = [g.clocks if isinstance(g, EvidenceAndClocks) else g for g in _week_order(model)[0]
              if isinstance(g, EvidenceAndClocks | NationalClocks)]
    assert groups
    for clocks in groups:
        lags = clocks.lags().copy()
        assert np.array_equal(lags, [r.adoption_lag_weeks() for r in clocks.members])
        events = len(model.events)
        clocks.adopt(lags, np.zeros(len(clocks.members), bool))   # nothing due: no event
        assert len(model.events) == events


def test_entrant_firms_match_twin_and_new_firms_then_settle(model):
    import copy
    m = model.makers
    free = np.flatnonzero(m.active == 0)[:30]
    u = km.slot_draws(rng.stream_key(5, rng.ENTRANT, 9), free, 8, 6)
    substitutes = np.array([-1, 3, 2, -1, 1], np.int16)   # none left in China
    args = (free, u, 0.5 + u[2], u[4], np.zeros(free.size, np.int64), substitutes,
            *m.firm_arrays)
    a, b, c = copy.deepcopy(args), copy.deepcopy(args), copy.deepcopy(args)
    km.entrant_firms(*a)
    km.entrant_firms_np(*b)
    km.new_firms(*c[:5], *c[6:])
    km.settle_entrants(free, substitutes, c[9], c[13], c[14], c[11])
    for x, y, z in zip(a[6:], b[6:], c[6:], strict=True):
        assert np.array_equal(x, y) and np.array_equal(x, z)
    active, chemical, region = a[11], a[14], a[13]
    none_left = substitutes[m.region_country[region[free]]] < 0
    assert none_left.any() and not none_left.all()   # some regions have no substitute left
    assert np.all(active[free] == ~none_left) and np.all(chemical[free[none_left]] == 0)
    assert np.all(chemical[free[~none_left]] == substitutes[m.region_country[region[free]]][~none_left])
