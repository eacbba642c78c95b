"""The week's kernels outside the users' (issue 20), each against its NumPy twin on a model's
own state, plus the exact NumPy sums they rely on and the rules they encode."""

import copy

import numpy as np
import pytest

from sim.actors.buyers import buyers
from sim.actors.cartels import cartels
from sim.kernels import buyers as kb
from sim.kernels import cartels as kcart
from sim.kernels import customs as kc
from sim.kernels import makers as km
from sim.kernels import market as kmk
from sim.kernels import regulators as kr
from sim.kernels import rng
from sim.kernels import shipments as ks
from sim.kernels import trade as kt
from sim.kernels.sums import pairwise_sum, span_sum
from sim.model import FentanylModel
from sim.pipeline import FENTANYL_FLOWS, PRECURSOR_FLOWS
from tests.conftest import SMALL

KEY = rng.stream_key(5, 6, 7)


@pytest.fixture(scope="module")
def model():
    """The small baseline after a year, so links, stocks, seizures and the pipeline are live."""
    model = FentanylModel(SMALL, weeks=80)
    model.run(52)
    return model


def _twins(kernel, twin, *args):
    """The kernel and its twin on copies of the same arguments: (outputs, arguments after)."""
    a, b = copy.deepcopy(args), copy.deepcopy(args)
    return (kernel(*a), a), (twin(*b), b)


def _same(x, y):
    if isinstance(x, tuple):
        assert len(x) == len(y)
        for u, v in zip(x, y, strict=True):
            _same(u, v)
    elif isinstance(x, np.ndarray):
        assert np.array_equal(x, y, equal_nan=True), (x, y)
    else:
        assert x == y or (x != x and y != y), (x, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pairwise_sum_rounds_as_numpy_does(dtype):
    g = np.random.default_rng(1)
    for n in [*range(0, 300), 1000, 1023, 1025, 20_000]:
        a = (g.random(n) * 10.0 ** g.uniform(-6, 6, n)).astype(dtype)
        assert pairwise_sum(a) == np.sum(a), n
        padded = np.concatenate([np.full(3, 1e9, dtype), a, np.full(2, 1e9, dtype)])
        assert span_sum(padded, 3, n) == np.sum(a), n
    # a plain running sum differs from NumPy's for most such arrays (so the test can fail), and
    # a float32 array's sum in float64 differs from its float32 sum
    a = (g.random(1000) * 10.0 ** g.uniform(-6, 6, 1000)).astype(dtype)
    assert float(np.cumsum(a)[-1]) != np.sum(a)
    if dtype is np.float32:
        assert pairwise_sum(a) != a.astype(np.float64).sum()


def test_schedule_and_pending_match_twins(model):
    g = np.random.default_rng(2)
    routes, pipeline = model.network.routes, model.pipeline
    n = 400
    route = g.integers(0, len(routes.names), n)
    length = routes.post_ptr[route + 1] - routes.post_ptr[route]
    seized_at = np.where((g.random(n) < 0.3) & (length > 0),
                         routes.post_ptr[route] + g.integers(0, 16, n) % np.maximum(length, 1),
                         -1)
    product = g.integers(0, model.chemicals.fentanyl, n)
    values = g.random((4, n))
    for flows, rows in ((PRECURSOR_FLOWS, values), (FENTANYL_FLOWS, values[:1])):
        (_, a), (_, b) = _twins(ks.schedule, ks.schedule_np, *pipeline.rings(), 9,
                                routes.transit_weeks, routes.post_offset_weeks, routes.posts,
                                route, product, seized_at, rows, *flows)
        _same(a[:4], b[:4])
        assert not np.array_equal(a[0], pipeline.by_route)   # something was scheduled
    kinds = np.array([1, 2])
    _same(ks.pending_by_owner(pipeline.by_route, kinds, model.network.route_owner, 5),
          ks.pending_by_owner_np(pipeline.by_route, kinds, model.network.route_owner, 5))


def _maker_args(model):
    m = model.makers
    return (m.capacity_kg, m.pressure, m.chemical_controlled, m.capacity_kg_per_week, m.active,
            m.sanctioned, m.country, m.chemical, model.controls.controlled,
            np.linspace(0.2, 0.9, len(model.controls.controlled)), 0.15, 0.4)


def test_makers_kernels_match_twins(model):
    m = model.makers
    (_, a), (_, b) = _twins(km.begin_week, km.begin_week_np, *_maker_args(model))
    _same(a[:3], b[:3])
    args = (m.raid_prob, m.switch_hazard, m.substitute, m.pressure, m.sales_kg, m.country,
            m.chemical, model.controls.substitutes(model.date), model.chemicals.same_class,
            0.01, np.full(8, 1.5), np.full(8, 0.01), 0.1, 0.02)
    (_, a), (_, b) = _twins(km.raid_and_switch, km.raid_and_switch_np, *args)
    _same(a[:3], b[:3])
    (_, a), (_, b) = _twins(km.delist, km.delist_np, m.online, m.active, 0.3, KEY)
    _same(a[0], b[0])
    assert a[0].sum() < m.online.sum()
    slots = np.flatnonzero(m.active == 0)[:7]
    u = km.slot_draws(KEY, slots, 8, 6)
    _same(u, km.slot_draws_np(KEY, slots, 8, 6))
    firms = (m.active, m.country, m.region, m.chemical, m.mode, m.online, m.sanctioned,
             m.compliance, m.capacity_kg_per_week, m.sales_kg)
    (_, a), (_, b) = _twins(km.new_firms, km.new_firms_np, slots, u, u[2] * 3, u[4],
                            np.arange(slots.size), m.region_share,
                            np.array([0.4, 0.3, 0.3]), m.mode_ok, m.region_country, 0.6, *firms)
    _same(a[10:], b[10:])
    assert np.all(a[10][slots] == 1) and np.all(a[14][slots] <= 2)


def test_makers_columns_match_twin(model):
    active = model.makers.active
    g = np.random.default_rng(4)
    sanctioned = (g.random(active.size) < 0.5).astype(np.uint8)
    sales_kg = (g.random(active.size) * 10.0 ** g.uniform(-3, 3, active.size)).astype(np.float32)
    out = km.columns(active, sanctioned, sales_kg)
    _same(out, km.columns_np(active, sanctioned, sales_kg))
    assert 0 < out[1] < out[0] and out[2] > 0


def _orders(model):
    makers, network, chem, links = model.makers, model.network, model.chemicals, model.links
    wanted = np.array([b.target_kg_per_week for b in buyers(model)])
    return (links.slots, links.count, links.finished_only, wanted, makers.active, makers.region,
            makers.mode, makers.chemical, network.precursor_route, chem.finished,
            makers.capacity_kg, chem.yield_kg_per_kg)


def test_buyers_kernels_match_twins_and_follow_the_rules(model):
    makers, network, chem, links = model.makers, model.network, model.chemicals, model.links
    (out, a), (out_np, b) = _twins(kb.orders, kb.orders_np, *_orders(model))
    _same(out, out_np)
    _same(a[:2], b[:2])
    buyer, maker, kg = out
    assert buyer.size > 10 and np.all(kg > 0)
    for b_ in range(links.count.size):   # each buyer's wants, spread over its suppliers
        mine = buyer == b_
        fe = (kg[mine] * chem.yield_kg_per_kg[makers.chemical[maker[mine]]]).sum()
        assert fe == pytest.approx(_orders(model)[3][b_]) or not mine.any()
    g = np.random.default_rng(3)
    refused = (g.random(buyer.size) < 0.2).astype(np.uint8)
    seized = g.random(buyer.size) < 0.3
    (_, a), (_, b) = _twins(kb.after_orders, kb.after_orders_np, links.slots, links.count,
                            buyer, maker, refused, seized, 0.7, KEY, links.lost)
    _same(a[:2], b[:2])
    assert not np.any(a[8])   # the scratch flags are left clear
    for b_ in range(links.count.size):
        kept = a[0][b_, : a[1][b_]]
        assert np.all(np.diff(kept) > 0)   # sorted, distinct
        assert not set(maker[(buyer == b_) & (refused == 1)]) & set(kept)
    cut = np.zeros(8)
    cut[makers.country[links.slots[0, 0]]] = 0.5
    (_, a), (_, b) = _twins(kb.lose_links, kb.lose_links_np, links.slots, links.count,
                            makers.country, cut, KEY)
    _same(a[:2], b[:2])
    assert a[1].sum() < links.count.sum()
    args = (links.slots, links.count, links.finished_only, 30, 6.5, 0.3, KEY, makers.active,
            makers.online, makers.region, makers.mode, makers.chemical, network.precursor_route,
            chem.finished)
    (_, a), (_, b) = _twins(kb.search, kb.search_np, *args)
    _same(a[:2], b[:2])
    assert a[1].sum() > links.count.sum()
    for b_ in range(links.count.size):
        new = a[0][b_, links.count[b_]: a[1][b_]]
        assert np.all(kb.usable_np(new, b_, links.finished_only[b_], makers.active,
                                   makers.region, makers.mode, makers.chemical,
                                   network.precursor_route, chem.finished))


def test_serve_matches_twin_and_queues_at_random(model):
    makers = model.makers
    buyer, maker, kg = kb.orders(*copy.deepcopy(_orders(model)))
    args = (buyer, maker, kg, 5, KEY, rng.stream_key(5, 6, 8), makers.capacity_kg,
            makers.compliance, makers.pressure, makers.sales_kg)
    (out, a), (out_np, b) = _twins(km.serve, km.serve_np, *args)
    _same(out[:4], out_np[:4])
    _same(out[5], out_np[5])
    assert np.allclose(out[4], out_np[4], atol=1e-12) and out[6] == pytest.approx(out_np[6])
    assert np.allclose(a[-1], b[-1])
    assert not np.array_equal(out[0], np.sort(out[0]))   # not served buyer by buyer


def test_customs_kernels_match_twins(model):
    posts, levers = model.posts, model.levers
    g = np.random.default_rng(4)
    effort = g.uniform(0.5, 1.5, posts.agency_ptr.size - 1)
    args = (posts.seize_prob, posts.inspections, levers.post_inspections_multiplier,
            levers.post_pinned_inspections, effort, posts.agency_of, posts.traffic,
            posts.illicit_count, posts.intel, levers.post_intel_bonus, posts.detection,
            g.random(len(posts)) * 0.2, 1.0, 20.0)
    (_, a), (_, b) = _twins(kc.seizure_probability, kc.seizure_probability_np, *args)
    _same(a[0], b[0])
    assert np.all((a[0] >= 0) & (a[0] <= 1))
    seized = g.random((3, len(posts))) * (g.random((3, len(posts))) < 0.5)
    args = (posts.inspections, posts.yield_kg, posts.evidence_kg, posts.base_inspections,
            posts.agency_ptr, seized, g.random(len(posts)), g.random(effort.size), 0.2, 1.0,
            0.3, 0.05)
    (_, a), (_, b) = _twins(kc.learn, kc.learn_np, *args)
    _same(a[:3], b[:3])
    for first, last in zip(posts.agency_ptr[:-1], posts.agency_ptr[1:], strict=True):
        before, after = posts.inspections[first:last], a[0][first:last]
        assert after.sum() == pytest.approx(before.sum())   # the pool moves, it does not grow
        assert np.abs(after - before).sum() / 2 <= 0.05 * before.sum() + 1e-9
    route = g.integers(0, len(model.network.routes.names), 50)
    routes = model.network.routes
    for add in (False, True):
        (_, a), (_, b) = _twins(kc.count_shipments, kc.count_shipments_np, posts.illicit_count,
                                routes.post_ptr, routes.posts, route, add)
        _same(a[0], b[0])
    _same(kc.agency_shares(posts.inspections, posts.agency_ptr),
          kc.agency_shares_np(posts.inspections, posts.agency_ptr))
    by_route_post = g.random((len(routes.names), len(posts))) * (g.random((1, len(posts))) < 0.7)
    sharing = g.random(len(posts)) < 0.6
    kg = kc.partner_route_kg(by_route_post, sharing, posts.agency_of, posts.agency_ptr)
    _same(kg, kc.partner_route_kg_np(by_route_post, sharing, posts.agency_of, posts.agency_ptr))
    shares = sharing[posts.agency_ptr[:-1]]
    assert shares.sum() >= 2 and np.all(kg[~shares] == 0) and np.all(kg[shares].sum(axis=1) > 0)


def test_regulator_kernels_match_twins():
    g = np.random.default_rng(5)
    un, here = g.random(10) < 0.6, g.random(10) < 0.3
    progress, pending = g.random(10) * 0.9, g.integers(0, 9, 10).astype(float)
    (due, a), (due_np, b) = _twins(kr.adoption_clocks, kr.adoption_clocks_np, progress,
                                   pending, un, here, 0.3)
    _same((due, *a[:2]), (due_np, *b[:2]))
    assert due and np.all(a[0][~un | here] == 0)
    args = (g.integers(0, 50, 9).astype(float), g.random(9) * 3, g.random(9) * 0.3,
            g.random(9) * 40, 0.15, 20.0, 30.0, g.random(9) < 0.3)
    (due, a), (due_np, b) = _twins(kr.un_evidence, kr.un_evidence_np, *args)
    _same((due, *a[:2]), (due_np, *b[:2]))
    (_, a), (_, b) = _twins(kr.watch, kr.watch_np, g.random(9), g.random(9), g.random(9) < 0.2,
                            0.1)
    _same(a[0], b[0])
    controlled = g.random((8, 10)) < 0.5
    candidate = g.random(9) < 0.7
    _same(kr.first_uncontrolled(controlled, candidate),
          kr.first_uncontrolled_np(controlled, candidate))


def test_trade_kernels_match_twins(model):
    g = np.random.default_rng(6)
    network, chem, out = model.network, model.chemicals, model.week_outcome
    n_buyers, n_entries = len(buyers(model)), len(network.entry_names)
    _same(kt.deliveries(out.precursor_delivered_fe, out.finished_delivered_kg,
                        out.fentanyl_delivered_kg, network.route_owner, network.route_entry,
                        n_buyers, n_entries),
          kt.deliveries_np(out.precursor_delivered_fe, out.finished_delivered_kg,
                           out.fentanyl_delivered_kg, network.route_owner, network.route_entry,
                           n_buyers, n_entries))
    by_post = g.random((3, len(model.posts)))
    _same(kt.seized_by_group(by_post, model.posts.seizure_group, 3),
          kt.seized_by_group_np(by_post, model.posts.seizure_group, 3))
    for values in (g.random(6), np.zeros(6)):
        _same(kt.shares(values), kt.shares_np(values))
    n = 300
    kg, product = g.random(n), g.integers(0, chem.fentanyl, n)
    route = g.integers(0, len(network.routes.names), n)
    country = g.integers(0, len(model.controls.controlled), n)
    args = (kg, product, route, country, chem.finished, model.controls.controlled,
            network.route_entry, chem.fentanyl, n_entries)
    _same(kt.trade_totals(*args), kt.trade_totals_np(*args))


def _precursor_args(model):
    makers, chem, network, posts = model.makers, model.chemicals, model.network, model.posts
    links, routes = model.links, network.routes
    return (60, np.array([b.target_kg_per_week * 3 for b in buyers(model)]),
            links.slots, links.count, links.finished_only, links.lost, 0.7,
            makers.active, makers.country, makers.region, makers.mode, makers.chemical,
            makers.compliance, makers.capacity_kg_per_week, makers.sanctioned,
            makers.capacity_kg, makers.pressure, makers.chemical_controlled, makers.sales_kg,
            np.linspace(0.1, 0.8, 8), 0.15, 0.2, chem.finished, chem.yield_kg_per_kg,
            model.controls.controlled, network.precursor_route, routes.post_ptr, routes.posts,
            routes.post_offset_weeks, routes.transit_weeks, network.route_entry,
            len(network.entry_names), posts.country, posts.seize_prob, posts.illicit_count,
            *model.pipeline.rings(), *PRECURSOR_FLOWS, *(rng.stream_key(5, s, 60)
                                                          for s in range(4)))


def test_precursor_week_matches_its_twin(model):
    (out, a), (out_np, b) = _twins(kt.precursor_week, kt.precursor_week_np,
                                   *_precursor_args(model))
    assert out[0] == out_np[0] and out[0] > 10   # consignments inspected
    assert out[1] == pytest.approx(out_np[1])
    assert np.allclose(np.hstack([np.atleast_1d(x) for x in out[2]]),
                       np.hstack([np.atleast_1d(x) for x in out_np[2]]))
    for x, y in zip(a[2:], b[2:], strict=True):   # every array the week updates
        if isinstance(x, np.ndarray):
            assert np.allclose(x, y, equal_nan=True)


def test_fentanyl_week_matches_its_twin(model):
    network, posts, routes = model.network, model.posts, model.network.routes
    g = np.random.default_rng(9)
    entry_routes = network.entry_route[network.entry_route >= 0]
    for n in (60, 0):
        route = g.choice(entry_routes, n).astype(np.int64)
        args = (61, route, g.random(n) * 2, np.arange(n) * 3, model.chemicals.fentanyl,
                model.controls.controlled, posts.country, routes.post_ptr, routes.posts,
                np.minimum(1.0, posts.seize_prob * 20), routes.post_offset_weeks,
                routes.transit_weeks,
                network.route_entry, len(network.entry_names), posts.illicit_count,
                *model.pipeline.rings(), *FENTANYL_FLOWS, KEY)
        (out, a), (out_np, b) = _twins(kt.fentanyl_week, kt.fentanyl_week_np, *args)
        _same(out, out_np)
        for x, y in zip(a, b, strict=True):   # every array the week updates
            if isinstance(x, np.ndarray):
                _same(x, y)
        # every load is sent to its entry, delivered or seized on its route, counted at posts
        assert out.sum() == pytest.approx(args[2].sum())
        assert a[15].sum() - model.pipeline.by_route.sum() == pytest.approx(args[2].sum())
        assert a[14].sum() > posts.illicit_count.sum() or n == 0


def test_cartel_kernels_match_twins(model):
    network, out = model.network, model.week_outcome
    for n_labs, attempt, success in ((40, 0.3, 0.6), (0, 0.3, 0.6), (25, 1.0, 0.0)):
        args = (n_labs, 2 * 2**20, KEY, rng.stream_key(5, 6, 8), attempt, success)
        attempts, wins = kcart.lab_raids(*args)
        assert (attempts, wins) == kcart.lab_raids_np(*args)
        assert wins <= attempts <= n_labs
    assert kcart.lab_raids(25, 0, KEY, KEY, 1.0, 0.0) == (25, 0)
    g = np.random.default_rng(7)
    entries = network.entry_route.shape[1]
    for kg in (g.random(entries) * 5 * (g.random(entries) < 0.7), np.zeros(entries)):
        loads = kcart.split_loads(kg, np.full(entries, 0.7), network.entry_route[1], 1)
        _same(loads, kcart.split_loads_np(kg, np.full(entries, 0.7), network.entry_route[1], 1))
        assert loads[1].sum() == pytest.approx(kg.sum()) and np.all(loads[1] <= 0.7 + 1e-12)
    loss = np.where(network.entry_route[0] >= 0, 0.1, np.nan)[None]
    args = (loss, np.zeros(1, np.int64), network.route_owner, network.route_entry,
            out.fentanyl_seized_kg_route, out.fentanyl_delivered_kg, 0.36, 0.02, 0.1)
    (_, a), (_, b) = _twins(kcart.learn_all_routes, kcart.learn_all_routes_np, *args)
    _same(a[0], b[0])
    assert not np.array_equal(a[0], loss, equal_nan=True)
    for cartel in cartels(model):
        for route_loss in (cartel.route_loss, np.where(cartel.has_route, g.random(entries), np.nan)):
            args = (route_loss, cartel.cost_share, cartel.has_route, 8.0, 130.0,
                    np.empty(entries), np.empty(entries))
            (_, a), (_, b) = _twins(kcart.route_utility, kcart.route_utility_np, *args)
            _same(a[-2:], b[-2:])
            utility, loss = a[-2:]
            assert utility[cartel.has_route].max() == 0 and not np.isnan(loss).any()
            for elasticity in (1.0, 2.5):
                args = (np.exp(utility), loss, cartel.cost_share, cartel.has_route, 0.1,
                        elasticity, np.full(entries, np.nan))
                (sent, a), (sent_np, b) = _twins(kcart.route_split, kcart.route_split_np, *args)
                _same((sent, a[-1]), (sent_np, b[-1]))
                assert 0 <= sent <= 1 and a[-1].sum() == pytest.approx(1.0)
                assert np.all(a[-1][~cartel.has_route] == 0)


def test_market_kernels_match_twins_and_conserve_stock(model):
    dealers, people = model.dealers, model.users.people_using
    g = np.random.default_rng(8)
    n = people.size
    cases = [(dealers.stock_kg, people), (g.random(n) * 40, people),
             (g.random(n) * 40 * (g.random(n) < 0.5), people * (g.random(n) < 0.7)),
             (g.random(n) * 400, people), (np.zeros(n), np.zeros(n))]
    moved = 0
    for rules in (dealers.rules, dealers.rules._replace(cut_elasticity=0.3, scarcity_exponent=0.8,
                                                        trade_cost_share=0.01)):
        for stock, using in cases:
            cover, shortage = kmk.cover_and_shortage(stock, using, rules)
            _same((cover, shortage), kmk.cover_and_shortage_np(stock, using, rules))
            scarcity = shortage ** rules.scarcity_exponent
            (_, a), (_, b) = _twins(kmk.trade, kmk.trade_np, stock, np.zeros(n), using, scarcity,
                                    rules)
            _same(a[:2], b[:2])
            assert (a[0] + a[1]).sum() == pytest.approx(stock.sum())   # moved, not made or lost
            moved += a[1].sum() > 0
            out, inverse = kmk.sell(cover, cover ** rules.cut_elasticity, scarcity, using, rules)
            _same((out, inverse), kmk.sell_np(cover, cover ** rules.cut_elasticity, scarcity,
                                              using, rules))
            (price, a), (price_np, b) = _twins(kmk.settle, kmk.settle_np, out, np.log(inverse),
                                               stock, using, rules)
            _same((price, a[0], a[2]), (price_np, b[0], b[2]))
            # what is sold comes off the shelves, and no more than dealers offer
            assert np.all(a[0][kmk.SOLD] <= stock * rules.turnover * (1 + 1e-12))
            assert np.allclose(a[2] + a[0][kmk.SOLD], stock)
    assert moved >= 2   # trade happened in some of the cases
    retail = dealers.last
    for sold in (retail.sold_kg, np.zeros(n), g.random(n)):
        args = (retail.fentanyl_share, retail.fentanyl_mg, sold, retail.powder_purity,
                retail.pills_ge_2mg, dealers.pill_share, people)
        _same(kmk.columns(*args), kmk.columns_np(*args))
        mix = (sold, retail.fentanyl_mg, dealers.pill_share, dealers.uniform)
        _same(kmk.pill_mix(*mix), kmk.pill_mix_np(*mix))
        assert 0 < kmk.pill_mix(*mix)[0] < 1 or not sold.any()
    # where 2 mg stands in each region's lognormal pill: bit for bit the NumPy formula, a zero
    # log-sd taken as 1e-9 (finite), a larger one moving it toward the mean
    log_ratio = np.log(2.0 / retail.fentanyl_mg)
    for sigma in (retail.fentanyl_sigma, np.zeros(n), 0.2 + g.random(n)):
        _same(kmk.lognormal_z(log_ratio, sigma), kmk.lognormal_z_np(log_ratio, sigma))
    assert np.all(np.isfinite(kmk.lognormal_z(log_ratio, np.zeros(n))))


def test_makers_adapt_week_matches_twin(model):
    m = model.makers
    substitutes = model.controls.substitutes(model.date)
    keys = rng.week_keys(5, 7, rng.N_STREAMS)
    for unmet, delist in ((0.6, 0.0), (0.3, 0.2)):
        rates = np.array([4.0, unmet, 0.3, 0.5, 0.1, 1.5, 0.2, delist])
        args = (m.active, m.chemical, m.sanctioned, m.compliance, m.online,
                m.chemical_controlled.view(np.uint8), m.pressure, m.sales_kg, m.country,
                m.raid_prob, m.switch_hazard, m.substitute, substitutes,
                model.chemicals.same_class, np.full(8, 1.5), np.full(8, 0.01), rates, keys)
        (out, a), (out_np, b) = _twins(km.adapt_week, km.adapt_week_np, *args)
        _same(out, out_np)
        _same(a[:6], b[:6])
        _same(a[9:12], b[9:12])
        assert out[1][0] > 0 and np.all(m.active[out[0]] == 0)   # raids; entrants take free slots
    assert (a[4] != m.online).any()   # listings taken down


def test_adoption_clocks_rows_match_twin():
    g = np.random.default_rng(6)
    controlled = g.random((5, 10)) < 0.4
    countries = np.array([1, 2, 3, 4])
    progress, pending = g.random((4, 10)) * 0.9, g.integers(0, 9, (4, 10)).astype(float)
    lags = np.array([20.0, 3.0, 0.0, 100.0])
    (due, a), (due_np, b) = _twins(kr.adoption_clocks_rows, kr.adoption_clocks_rows_np,
                                   progress, pending, controlled, 0, countries, lags)
    _same((due, *a[:2]), (due_np, *b[:2]))
    assert due.any() and not due.all()
    pending_rows = controlled[0] & ~controlled[countries]
    assert np.all(a[0][~pending_rows] == 0) and np.all(a[1][pending_rows] >= 1)


def test_settle_entrants_matches_twin(model):
    m = model.makers
    free = np.flatnonzero(m.active == 0)[:40]
    region = m.region.copy()
    region[free] = np.arange(free.size) % m.region_country.size   # every region
    active = m.active.copy()
    active[free] = 1   # as `Makers.create` leaves them
    substitutes = np.array([-1, 3, 2, -1, 1], np.int16)   # none left in China
    (_, a), (_, b) = _twins(km.settle_entrants, km.settle_entrants_np, free, substitutes,
                            m.region_country, region, m.chemical, active)
    _same(a[4:], b[4:])
    none_left = substitutes[m.region_country[region[free]]] < 0
    assert none_left.any() and not none_left.all()
    assert np.all(a[4][free[none_left]] == 0) and np.all(a[5][free] == ~none_left)


def test_every_cartel_kernels_match_twins(model):
    """The kernels over every cartel at once (`sim.actors.cartels.CartelRows`): utilities, the
    week's loads with their trip north, and the cartels' learning; and the links' week end."""
    from sim.actors.cartels import rows

    table, network, posts, routes = rows(model), model.network, model.posts, model.network.routes
    g = np.random.default_rng(11)
    n, entries = table.route_loss.shape
    route_loss = np.where(table.has_route, g.random((n, entries)) * 0.5, np.nan)
    args = (route_loss, table.cost_share, table.has_route, 8.0, 130.0, np.empty((n, entries)),
            np.empty((n, entries)))
    (_, a), (_, b) = _twins(kcart.utilities, kcart.utilities_np, *args)
    _same(a[-2:], b[-2:])
    utility, loss = a[-2:]
    trip = (61, model.chemicals.fentanyl, model.controls.controlled, posts.country,
            routes.post_ptr, routes.posts, np.minimum(1.0, posts.seize_prob * 20),
            routes.post_offset_weeks, routes.transit_weeks, network.route_entry,
            len(network.entry_names), posts.illicit_count, *model.pipeline.rings(),
            *FENTANYL_FLOWS, KEY)
    # stocks and targets: all shipping, none with stock, and a mix
    for stock in (g.random(n) * 50 + 1, np.zeros(n), g.random(n) * 50 * (g.random(n) < 0.6)):
        args = (np.exp(utility), loss, table.cost_share, table.has_route, 0.1, 1.0,
                np.zeros((n, entries)), stock, g.random(n) * 30, np.ones(n), table.load_kg,
                table.entry_routes, table.index)
        (sent, a), (sent_np, b) = _twins(kcart.loads, kcart.loads_np, *args)
        _same(sent, sent_np)
        _same(a[6:10], b[6:10])   # split, stock, target, send share
        # what left the stocks is what was loaded
        assert (args[7] - a[7]).sum() == pytest.approx(sent[1].sum())
        assert sent[0].size == 0 or stock.any()
        (week, a), (week_np, b) = _twins(kcart.loads_week, kcart.loads_week_np, *args, *trip)
        _same(week, week_np)
        assert week[0] == sent[0].size and week[1].sum() == pytest.approx(sent[1].sum())
        for x, y in zip(a, b, strict=True):   # every array the week updates
            if isinstance(x, np.ndarray):
                _same(x, y)
    out = model.week_outcome
    args = (*table.learns, out.fentanyl_seized_kg_route, out.fentanyl_delivered_kg, *table.rates)
    (_, a), (_, b) = _twins(kcart.learn_week, kcart.learn_week_np, *args)
    _same(a, b)
    assert not np.array_equal(a[0], table.route_loss, equal_nan=True)
    weighed = (np.empty((n, entries)), np.empty((n, entries)))
    kcart.utilities_np(a[0], *a[-6:-2], *weighed)
    _same(a[-2:], weighed)   # the routes weighed again as learnt
    links, makers = model.links, model.makers
    for cut_prob, rate in ((np.zeros_like(model.levers.link_cut_prob), 2.5),
                           (np.full_like(model.levers.link_cut_prob, 0.3), 0.0)):
        args = (links.slots, links.count, links.finished_only, makers.country, cut_prob, KEY, 24,
                rate, 0.3, rng.stream_key(5, 9, 7), makers.active, makers.online, makers.region,
                makers.mode, makers.chemical, network.precursor_route, model.chemicals.finished)
        (_, a), (_, b) = _twins(kb.links_week, kb.links_week_np, *args)
        _same(a[:2], b[:2])
        # operations only cut links, search only adds them
        assert (a[1].sum() < links.count.sum()) if rate == 0 else np.all(a[1] >= links.count)
