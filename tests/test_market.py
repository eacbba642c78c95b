"""The market and traffickers' mechanisms of issue 17: potency that follows supply, regional
trade that spreads displaced loads, and shipping that weighs risk. Paired seeds, pooled."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from sim.config import load_scenario
from sim.kernels.users import C_DEATHS
from sim.model import FentanylModel
from sim.params import TABLE
from sim.policies import build_policy
from sim.validation import Source
from tests.conftest import DATA, frame

SEEDS = (1, 2, 3)
RISKY = {"inspections_per_week": 1e6, "detection_prob": 0.6}


def _model(base: Path, seed: int, weeks: int, policies=(), **overrides) -> FentanylModel:
    scenario = load_scenario(base).with_overrides(overrides, seed=seed, weeks=weeks)
    added = tuple(build_policy(p, Source(Path("test")), ("policies", i), scenario.start,
                               scenario.world) for i, p in enumerate(policies))
    return FentanylModel(dataclasses.replace(scenario, policies=scenario.policies + added))


def test_a_shortage_lowers_purity_and_pill_strength(run_model):
    """Both US entries nearly closed from the start: retail stock runs short, and dealers cut
    the product (weaker pills and powder) as well as rationing it."""
    late = slice(30, 60)
    for seed in SEEDS:
        base = frame(run_model(seed=seed))
        short = frame(run_model(seed=seed, network={"customs_posts": {"entry_a": RISKY,
                                                                      "entry_b": RISKY}}))
        assert short["fentanyl_sold_kg"][late].sum() < 0.5 * base["fentanyl_sold_kg"][late].sum()
        for column in ("fentanyl_purity", "pill_mg_mean", "pills_ge_2mg_share"):
            assert short[column][late].mean() < 0.8 * base[column][late].mean(), column
        assert short["fentanyl_share_of_doses"][late].mean() < base["fentanyl_share_of_doses"][
            late].mean()


def _sent_north(df) -> float:
    return float((df["fentanyl_to_us_kg"] + df["fentanyl_seized_kg"]).iloc[20:].sum())


def test_when_every_route_gets_riskier_cartels_send_less(run_model):
    """Deterrence: with both entries risky, cartels that weigh risk send less north than
    cartels that ship their target whatever the risk (same seeds)."""
    both = {"customs_posts": {"entry_a": {"inspections_per_week": 1e6, "detection_prob": 0.4},
                              "entry_b": {"inspections_per_week": 1e6, "detection_prob": 0.4}}}
    weighed = [_sent_north(frame(run_model(seed=s, network=both))) for s in SEEDS]
    blind = [_sent_north(frame(run_model(seed=s, network=both,
                                         parameters={"cartels": {"deterrence_elasticity": 0.0}})))
             for s in SEEDS]
    assert sum(weighed) < 0.85 * sum(blind)


def test_when_one_route_gets_riskier_more_goes_by_the_other(run_model):
    """Displacement: entry_a risky, entry_b as before: more kg go by entry_b than in the
    baseline, and most of what entry_a lost is sent by entry_b."""
    one = {"customs_posts": {"entry_a": RISKY}}
    for seed in SEEDS:
        base, risky = frame(run_model(seed=seed)), frame(run_model(seed=seed, network=one))
        via_b = [float((df["route_share_entry_b"] * (df["fentanyl_to_us_kg"]
                                                     + df["fentanyl_seized_kg"])).iloc[20:].sum())
                 for df in (base, risky)]
        assert via_b[1] > 1.3 * via_b[0]
        assert _sent_north(risky) > 0.7 * _sent_north(base)


def _deaths_and_prices(model: FentanylModel, from_week: int) -> tuple[np.ndarray, np.ndarray]:
    """Deaths per region (people) from `from_week` on, and each week's regional prices."""
    deaths, prices = 0.0, []
    for week in range(model.scenario.weeks):
        model.step()
        if week >= from_week:
            deaths = deaths + model.users.counts[C_DEATHS] * model.users.people_per_agent
            prices.append(model.dealers.last.price_usd_per_mg)
    return deaths, np.array(prices)


def test_a_surge_at_some_ports_raises_no_regions_deaths_through_a_glut():
    """Four southwest ports inspected four times as much (pinned) from 2018: loads move to
    the other entries, whose regions would be glutted without regional trade. With it, pooled
    over paired seeds, no region's deaths rise by more than 10% and national deaths by no more
    than 5%, and regional prices stay within 50% of each other in 95% of weeks (the trade cost
    is 10% of the price); without it, a region's deaths rise by more than 30%."""
    surge = {"type": "customs_surge", "posts": ["san_diego", "nogales", "el_paso", "laredo"],
             "inspections_multiplier": 4.0, "pinned": True, "start": "2018-01-01"}
    small = DATA / "small.yaml"
    base = surged = no_trade = 0.0
    for seed in (1, 2, 3):
        base = base + _deaths_and_prices(_model(small, seed, 416), 104)[0]
        deaths, prices = _deaths_and_prices(_model(small, seed, 416, [surge]), 104)
        surged = surged + deaths
        assert np.quantile(prices.max(axis=1) / prices.min(axis=1), 0.95) < 1.5
        no_trade = no_trade + _deaths_and_prices(
            _model(small, seed, 416, [surge], **{"market.regional_trade_rate": 0.0}), 104)[0]
    assert np.all(surged < 1.1 * base)
    assert surged.sum() < 1.05 * base.sum()
    assert np.max(no_trade / base) > 1.3   # the glut regional trade prevents


def test_pill_pressing_spreads_and_makes_seizures_heavier_per_pure_kg(run_model):
    """Cartels copy pill pressing (logistic): the share of fentanyl sold as pills rises from
    the 2016 share toward the regions' shares, and each pure kg seized weighs more (pills hold
    a few mg in a tablet of about 0.1 g). Without adoption the share and the weight stay put."""
    fast = {"cartels": {"pill_press_share_2016": 0.05, "pill_adoption_rate": 0.1}}
    still = {"cartels": {"pill_press_share_2016": 0.05, "pill_adoption_rate": 0.0}}
    early, late = slice(0, 4), slice(40, 60)
    watched = {"customs_posts": {"entry_a": {"inspections_per_week": 1e6, "detection_prob": 0.2}}}
    for seed in SEEDS:
        spread, kept = (frame(run_model(seed=seed, parameters=pars, network=watched))
                        for pars in (fast, still))
        share = spread["pill_share_of_fentanyl"]
        assert share[late].mean() > 4 * share[early].mean()
        selling = kept["fentanyl_sold_kg"] > 0
        assert np.allclose(kept["pill_share_of_fentanyl"][selling],
                           0.05 * TABLE["market"]["pill_share"].value)
        assert _gross_per_pure(spread, late) > 1.5 * _gross_per_pure(kept, late)


def _gross_per_pure(df, weeks: slice) -> float:
    return float(df["fentanyl_seized_gross_kg"][weeks].sum() / df["fentanyl_seized_kg"][weeks].sum())
