"""Each agent rule on the hand-made network (tests/data/tiny_world.yaml), and the behaviours
that must emerge from them. Paired runs share a seed, so differences come from the rule."""

import numpy as np
import pytest

from sim.actors import retail
from sim.actors.cartels import cartels
from sim.actors.customs import agencies, customs_week
from sim.config import load_scenario
from sim.model import FentanylModel
from sim.params import defaults
from tests.conftest import frame

SURE = {"inspections_per_week": 1e6, "detection_prob": 1.0}


def week_of(event_text: str, model) -> int:
    return next(e.week for e in model.events if event_text in str(e))


def test_route_with_certain_detection_delivers_nothing(run_model):
    model = run_model(network={"customs_posts": {"entry_a": SURE, "entry_b": SURE}})
    df = frame(model)
    assert df["fentanyl_to_us_kg"].sum() == 0
    assert df["fentanyl_seized_kg"].sum() > 10
    assert df["fentanyl_share_of_doses"].iloc[-5:].max() < 0.01   # the 2016 stock sold out


def test_cartel_shifts_its_split_away_from_a_route_where_it_lost_loads(run_model):
    model = run_model(network={"customs_posts": {"entry_a": {"inspections_per_week": 1e6,
                                                             "detection_prob": 0.6}}})
    df = frame(model)
    assert df["route_share_entry_a"].iloc[0] == pytest.approx(0.5)
    assert df["route_share_entry_a"].iloc[-10:].mean() < 0.15
    cartel = cartels(model)[0]
    assert cartel.route_loss[0] > cartel.route_loss[1] + 0.2 and cartel.route_loss[1] < 0.05


def test_balloon_effect_traffic_is_displaced_not_stopped(run_model):
    base = frame(run_model(weeks=60))
    surged = frame(run_model(weeks=60, network={"customs_posts": {
        "entry_a": {"inspections_per_week": 1e6, "detection_prob": 0.6}}}))
    late = slice(30, 60)
    share_drop = base["route_share_entry_a"][late].mean() - surged["route_share_entry_a"][late].mean()
    supply_drop = 1 - surged["fentanyl_to_us_kg"][late].sum() / base["fentanyl_to_us_kg"][late].sum()
    assert share_drop > 0.35                   # the surged route empties...
    assert supply_drop < 0.5 * share_drop      # ...but most of its traffic moves to the other


def test_scheduling_a_precursor_moves_trade_to_unscheduled_analogs(run_model):
    model = run_model(weeks=60, policies=[{"type": "class_scheduling", "regulator": "china",
                                           "classes": ["npp_anpp"], "start": "2016-05-02"}],
                      parameters={"makers": {"new_route_lag_weeks": 12.0}})
    df = frame(model)
    before, after = df.iloc[10:17], df.iloc[-10:]
    scheduled_before = before["precursor_share_npp"] + before["precursor_share_anpp"]
    scheduled_after = after["precursor_share_npp"] + after["precursor_share_anpp"]
    assert scheduled_before.mean() > 0.7
    assert scheduled_after.mean() < 0.1
    assert after["precursor_share_4-ap"].mean() > 0.8
    assert after["unscheduled_precursor_share"].mean() > 0.9
    assert df["fentanyl_to_us_kg"].iloc[-10:].mean() > 0.5 * df["fentanyl_to_us_kg"].iloc[10:17].mean()


def test_china_adopts_un_controls_sooner_when_cooperating(run_model):
    un = [{"type": "class_scheduling", "regulator": "un", "classes": ["npp_anpp"],
           "start": "2016-02-01"}]
    weeks = {}
    for level in (0.0, 1.0):
        model = run_model(weeks=120, policies=un, parameters={"regulators": {
            "china_cooperation_initial": level, "china_cooperation_base": level}})
        weeks[level] = week_of("china controls npp", model)
    assert weeks[1.0] - 4 == pytest.approx(17, abs=1)       # china_adoption_lag_weeks
    assert weeks[0.0] > weeks[1.0] + 50


def test_un_controls_a_prominent_precursor_after_its_detection_lag(run_model):
    model = run_model(weeks=40, parameters={"regulators": {"un_detection_lag_weeks": 20}})
    detected = [(e.week, str(e)) for e in model.events if str(e).startswith("un controls")]
    assert detected and 20 <= detected[0][0] <= 30
    assert "npp" in detected[0][1]


def test_diplomatic_shock_lowers_cooperation_and_a_deal_restores_it(run_model):
    model = run_model(weeks=60, policies=[
        {"type": "diplomatic_shock", "start": "2016-03-07", "end": "2016-07-25"},
        {"type": "bilateral_deal", "start": "2016-07-25"}])
    coop = frame(model)["china_cooperation"]
    assert coop.iloc[8] > 0.5
    assert coop.iloc[28] < 0.3 and coop.iloc[28] < coop.iloc[8] - 0.25
    assert coop.iloc[-1] > coop.iloc[0]


def test_deal_does_not_act_while_an_objected_sanction_stands(run_model):
    deal = {"type": "bilateral_deal", "start": "2016-03-07"}
    institute = {"type": "sanctions", "firms": 0, "institute": True, "start": "2016-02-01"}
    with_deal = frame(run_model(weeks=40, policies=[deal]))["china_cooperation"]
    blocked = frame(run_model(weeks=40, policies=[deal, institute]))["china_cooperation"]
    assert with_deal.iloc[-1] > 0.8
    assert blocked.iloc[-1] < 0.3


def test_sanctions_cut_sanctioned_firms_output_and_chinas_cooperation(run_model):
    sanction = {"type": "sanctions", "firms": 20, "start": "2016-04-04", "relist_lag_weeks": 500}
    base = run_model(weeks=40)
    sanctioned = run_model(weeks=40, policies=[sanction])
    designated = sanctioned.policies[0].designated
    assert designated.size == 20
    assert sanctioned.makers.sanctioned[designated].sum() >= 15     # a few exit or re-register
    capacity = sanctioned.makers.capacity_kg[designated].sum()
    assert capacity < 0.5 * base.makers.capacity_kg[designated].sum()
    coop_base = frame(base)["china_cooperation"].iloc[-1]
    assert frame(sanctioned)["china_cooperation"].iloc[-1] < coop_base - 0.03


def test_sanctioned_firms_reregister_after_a_lag(run_model):
    model = run_model(weeks=40, policies=[{"type": "sanctions", "firms": 40, "start": "2016-01-04",
                                           "relist_lag_weeks": 10}])
    still = model.makers.sanctioned[model.policies[0].designated]
    assert still.sum() < 10   # most re-registered under new names


def test_ending_one_sanction_keeps_firms_a_later_one_designated(run_model):
    """Firms that re-register escape the first listing; a second sanctions policy lists them
    again under their new names. When the first policy ends, those firms stay listed."""
    first = {"type": "sanctions", "firms": 40, "start": "2016-01-04", "end": "2016-07-04",
             "relist_lag_weeks": 3}
    second = {"type": "sanctions", "firms": 40, "start": "2016-06-27", "relist_lag_weeks": 1000}
    model = run_model(weeks=26, policies=[first, second])   # to the week before the first ends
    a, b = model.policies
    relisted = np.intersect1d(a.designated, b.designated)
    listed_before = relisted[model.makers.sanctioned[relisted] == 1]
    assert listed_before.size >= 5
    assert model.week == a.end_week
    model.run(2)
    assert model.makers.sanctioned[listed_before].sum() >= listed_before.size - 1


def test_fewer_us_guns_weaken_cartels_so_more_lab_raids_succeed(run_model):
    params = {"cartels": {"lab_raid_rate": 0.3, "mexico_enforcement": 1.0,
                          "armed_decay_per_week": 0.05, "lab_output_kg_per_week": 0.2}}
    labs = {"cartels": {"test_cartel": {"labs": 30}}}
    armed = frame(run_model(weeks=60, parameters=params, network=labs))
    disarmed = frame(run_model(weeks=60, network=labs, parameters={"cartels": {
        **params["cartels"], "guns_south_per_year": 0}}))
    assert disarmed["cartel_armed_strength"].iloc[-1] < 0.1
    strength = armed["cartel_armed_strength"].iloc[-1]
    assert strength == pytest.approx(200_000 * 1.0 / 50_000)   # guns x armed_share / unit

    def success(df):
        late = df.iloc[30:]
        return late["mexico_labs_dismantled"].sum() / late["mexico_lab_raids"].sum()

    assert armed["mexico_lab_raids"].iloc[30:].sum() > 150
    assert success(armed) == pytest.approx(1 / (1 + 1.5 * strength), abs=0.06)
    assert success(disarmed) > 0.85


def test_naloxone_lowers_deaths_without_changing_supply(run_model):
    low = frame(run_model(weeks=40, parameters={"users": {"naloxone_coverage": 0.1}}))
    high = frame(run_model(weeks=40, parameters={"users": {"naloxone_coverage": 0.9}}))
    assert high["overdose_deaths"].sum() < 0.5 * low["overdose_deaths"].sum()
    ratio = lambda df: df["overdose_deaths"].sum() / df["overdoses"].sum()  # noqa: E731
    assert ratio(high) < ratio(low)


def test_deaths_respond_to_fentanyl_supply(run_model):
    scarce = frame(run_model(weeks=30, parameters={"market": {"fentanyl_share_2016": 0.05}}))
    plenty = frame(run_model(weeks=30, parameters={"market": {"fentanyl_share_2016": 0.9}}))
    share = "fentanyl_share_of_doses"
    assert plenty[share].iloc[:10].mean() > scarce[share].iloc[:10].mean()
    assert plenty["overdose_deaths"].iloc[:20].sum() > 1.3 * scarce["overdose_deaths"].iloc[:20].sum()


def test_market_shortage_cuts_and_rations_and_a_glut_strengthens():
    """Supply cover 0.25: potency falls by 0.25^k and the share of doses with fentanyl by the
    rest; the price doubles (square root of the shortage). Cover 2: every dose holds fentanyl,
    2^k times stronger. Sold never exceeds what dealers offer."""
    users = {**defaults()["users"], "uses_per_week": 10.0, "fentanyl_dose_target_mg": 1.0,
             "fentanyl_dose_max_mg": 3.0}
    k = 0.5
    mkt = {**defaults()["market"], "retail_turnover": 1.0, "retail_price_ref_usd_per_mg": 3.0,
           "price_scarcity_exponent": 0.5, "cut_elasticity": k}
    people = np.array([1e5, 1e5])
    wanted_kg = 1e5 * 10 * 1.0 / retail.MG_PER_KG
    stock = np.array([0.25 * wanted_kg, 2 * wanted_kg])
    out = retail.clear(stock, people, mkt, users)
    assert out.fentanyl_mg[0] == pytest.approx(0.25**k)
    assert out.fentanyl_share[0] == pytest.approx(0.25 ** (1 - k))
    assert out.price_usd_per_mg[0] == pytest.approx(6.0)
    assert out.fentanyl_share[1] == 1.0 and out.fentanyl_mg[1] == pytest.approx(2**k)
    assert out.fentanyl_sigma[0] > out.fentanyl_sigma[1] == users["dose_sigma_fentanyl"]
    assert out.powder_purity[0] < out.powder_purity[1] and out.pills_ge_2mg[0] < out.pills_ge_2mg[1]
    assert np.all(out.sold_kg <= stock + 1e-12)
    rationed = retail.clear(stock, people, {**mkt, "cut_elasticity": 0.0}, users)
    assert rationed.fentanyl_mg[0] == 1.0 and rationed.fentanyl_share[0] == pytest.approx(0.25)


def test_customs_seizure_chance_falls_with_traffic_and_rises_with_intel(scenario_file):
    model = FentanylModel(load_scenario(scenario_file()))
    agency = next(a for a in agencies(model) if a.name == "us_cbp")
    posts = model.posts
    posts.inspections[:] = 1000.0
    customs_week(model, None)
    base = posts.seize_prob[agency.posts].copy()
    posts.traffic[agency.posts] *= 4
    customs_week(model, None)
    assert np.all(posts.seize_prob[agency.posts] == pytest.approx(base / 4))
    posts.traffic[agency.posts] /= 4
    posts.intel[agency.posts] = 0.5
    customs_week(model, None)
    assert np.all(posts.seize_prob[agency.posts] > 2 * base)
