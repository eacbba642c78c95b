"""The record phase's kernel (`sim.kernels.record.week_row`) against its readable twin, the
actors' `observe` functions (`sim.metrics.observe`) placed by `Recorder.record`: the same row,
bit for bit, every week of a run."""

import numba
import numpy as np
from scipy.special import ndtr

from sim import metrics
from sim.actors import retail
from sim.kernels import market as kmk
from sim.kernels import special
from sim.model import PHASES, FentanylModel, Week
from sim.params import defaults
from sim.recorder import Recorder
from tests.conftest import SMALL


def _run_with_twin(model: FentanylModel, weeks: int) -> Recorder:
    """Step the model `weeks` weeks as `FentanylModel.step` does, recording each week's row
    through the actors' `observe` into a second recorder too."""
    twin = Recorder(model.recorder.columns, 1, model.scenario.start)
    for _ in range(weeks):
        week = Week(model.week)
        for phase in PHASES:
            phase.run(model, week)
        twin.record(week.number, metrics.observe(model, week))
        model.week += 1
    return twin


def test_the_week_row_kernel_writes_what_the_actors_observe():
    # a horizon shorter than the run: both recorders grow past it
    model = FentanylModel(SMALL, weeks=20, seed=3)
    twin = _run_with_twin(model, 70)
    rec = model.recorder
    assert rec.rows == twin.rows == 70 and rec.columns == twin.columns
    frame, expected = rec.get_model_vars_dataframe(), twin.get_model_vars_dataframe()
    for name in rec.columns:
        got, want = frame[name].to_numpy(), expected[name].to_numpy()
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), name
    # the run exercised the columns: seizures, sales, shares and makers are not all zero
    for name in ("fentanyl_seized_kg", "fentanyl_seized_gross_kg",
                 "fentanyl_sold_kg", "pills_ge_2mg_share", "active_precursor_makers",
                 "cartel_revenue_usd", "overdose_deaths"):
        assert frame[name].to_numpy().any(), name
    assert 0 < frame["unscheduled_precursor_share"].max() <= 1


def test_the_row_places_cover_every_column_once():
    model = FentanylModel(SMALL, weeks=5)
    places = model.recorder.places(metrics.VALUES + metrics.BLOCKS)
    columns = model.recorder.columns
    assert [columns[i] for i in places[: len(metrics.VALUES)]] == list(metrics.VALUES)
    for prefix, start in zip(metrics.BLOCKS, places[len(metrics.VALUES):], strict=True):
        assert columns[start].startswith(prefix) and not columns[start - 1].startswith(prefix)


def _market_cases(n: int = 6, seed: int = 4):
    """(stock kg, people using) per region: a glut, a shortage, an empty region, random."""
    g = np.random.default_rng(seed)
    people = 1e4 + 1e5 * g.random(n)
    people[2] = 0.0
    rules = kmk.market_rules(defaults()["market"], defaults()["users"])
    wanted_kg = (people * rules.uses_per_week * rules.target_mg / kmk.MG_PER_KG
                 / rules.turnover)   # stock whose offer covers the week's doses
    return [(wanted_kg * f, people) for f in (0.3 + 3 * g.random(n), g.random(n), np.full(n, 4.0))]


def test_trade_and_sell_is_the_staged_market_with_square_roots():
    # one kernel call: trade on the shortage's square root, then sell on the cover's, as NumPy's
    # `** 0.5` between the kernels gave, bit for bit; against its twin too
    rules = kmk.market_rules(defaults()["market"], defaults()["users"])
    assert rules.cut_elasticity == rules.scarcity_exponent == 0.5
    values = np.array(rules)
    moved = 0
    for stock, people in _market_cases():
        staged_stock, staged_transit = stock.copy(), np.zeros(stock.size)
        _, shortage = kmk.cover_and_shortage(staged_stock, people, rules)
        kmk.trade(staged_stock, staged_transit, people, shortage ** 0.5, rules)
        cover, shortage = kmk.cover_and_shortage(staged_stock, people, rules)
        out, inverse = kmk.sell(cover, cover ** 0.5, shortage ** 0.5, people, rules)
        staged = (out, kmk.ratios(out, inverse))
        assert np.array_equal(staged[1], kmk.ratios_np(out, inverse))
        for run in (kmk.trade_and_sell, kmk.trade_and_sell_np):
            fused_stock, fused_transit = stock.copy(), np.zeros(stock.size)
            fused = run(fused_stock, fused_transit, people, values if run is kmk.trade_and_sell
                        else rules)
            for a, b in zip((*staged, staged_stock, staged_transit),
                            (*fused, fused_stock, fused_transit), strict=True):
                assert np.array_equal(a, b, equal_nan=True)
        moved += staged_transit.sum() > 0
    assert moved >= 1


def test_dealers_clear_the_same_with_either_exponent_path():
    # the dealers' week, on the rules' values, equals `retail.sell` on the NamedTuple, with the
    # default exponents (one kernel) and others (NumPy's powers between the kernels)
    users, market = defaults()["users"], defaults()["market"]
    for changed in ({}, {"cut_elasticity": 0.3, "price_scarcity_exponent": 0.8}):
        params = {**market, **changed}
        for stock, people in _market_cases(seed=9):
            dealers = retail.Dealers(params, users, people + 1.0, np.full(stock.size, 0.4), 0.5)
            dealers.stock_kg = stock.copy()
            got = dealers.clear(people)
            rules = kmk.market_rules(params, users)
            staged_stock, transit = stock.copy(), np.zeros(stock.size)
            _, shortage = kmk.cover_and_shortage(staged_stock, people, rules)
            kmk.trade(staged_stock, transit, people, shortage ** rules.scarcity_exponent, rules)
            want, price = retail.sell(staged_stock, people, rules)
            assert dealers.price_usd_per_mg == price
            assert np.array_equal(dealers.stock_kg, staged_stock)
            assert np.array_equal(dealers.in_transit_kg, transit)
            for name in ("fentanyl_share", "fentanyl_mg", "fentanyl_sigma", "sold_kg",
                         "price_usd_per_mg", "powder_purity", "log_2mg", "pills_ge_2mg"):
                assert np.array_equal(getattr(got, name), getattr(want, name)), name
            # the logarithms taken in one call are those of each row alone
            assert np.array_equal(got.log_2mg, np.log(kmk.PILL_GE_MG / got.fentanyl_mg))


def test_the_kernels_normal_cdf_is_scipys_to_the_bit():
    g = np.random.default_rng(8)
    z = np.concatenate([g.standard_normal(20_000) * scale for scale in (0.1, 1.0, 5.0, 40.0)]
                       + [[0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -38.5, 8.3]])
    got = _normal_cdf(z)
    assert np.array_equal(got, ndtr(z), equal_nan=True)
    assert got[-8] == got[-7] == 0.5 and got[-6] == 1.0 and got[-5] == 0.0
    assert np.all(np.diff(got[:20_000][np.argsort(z[:20_000])]) >= 0)


@numba.njit
def _normal_cdf(z):
    """`sim.kernels.special.ndtr` of each of z, in a kernel."""
    out = np.empty(z.size)
    for i in range(z.size):
        out[i] = special.ndtr(z[i])
    return out
