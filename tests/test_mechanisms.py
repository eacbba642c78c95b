"""Policy mechanisms: directions that must emerge from the agents' rules (issue: policy levers).

Paired runs of the scenario library at classroom size: each policy run shares its seed with a
baseline run, so the difference comes from the policy, over two seeds.
"""

import datetime as dt
from pathlib import Path

import pytest

from sim.config import load_scenario
from sim.model import FentanylModel
from tests.conftest import frame

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SEEDS = (1, 2)
END_2027 = (dt.date(2028, 1, 3) - dt.date(2016, 1, 4)).days // 7
SMALL_SIZE = {"users.agents": 20_000, "makers.firms": 500}


def run(path, seed, weeks=END_2027, small=True):
    # classroom size: outputs are still in people and kg
    scenario = load_scenario(path).with_overrides(SMALL_SIZE if small else {}, seed=seed,
                                                  weeks=weeks)
    model = FentanylModel(scenario)
    model.run()
    return frame(model)


def window(df, start="2025-01-01", end="2028-01-01"):
    return df[(df["date"] >= start) & (df["date"] < end)]


@pytest.fixture(scope="module")
def baseline():
    return {seed: run(SCENARIOS / "baseline.yaml", seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mechanisms")

    def write(name, text):
        path = folder / f"{name}.yaml"
        path.write_text(f"name: {name}\nextends: {SCENARIOS / 'baseline.yaml'}\n{text}")
        return path

    return write


def test_customs_surge_at_one_port_is_displaced_not_stopped(baseline, child):
    """A surge at San Diego: its share falls, every other port's rises (displacement), and
    supply falls by less than San Diego's share did (not stopped). How much is deterred rather
    than displaced is the cartels' deterrence elasticity's, fitted to deaths (ODD 7.8)."""
    path = child("surge_san_diego", "policies:\n  - type: customs_surge\n    start: 2025-01\n"
                 "    posts: [san_diego]\n    inspections_multiplier: 4\n    pinned: true\n")
    for seed in SEEDS:
        base, surged = window(baseline[seed], "2025-07-01"), window(run(path, seed), "2025-07-01")
        share_fall = base["route_share_san_diego"].mean() - surged["route_share_san_diego"].mean()
        assert share_fall > 0.1
        for other in ("nogales", "el_paso", "laredo"):
            assert surged[f"route_share_{other}"].mean() > base[f"route_share_{other}"].mean()
        supply_fall = 1 - surged["fentanyl_to_us_kg"].sum() / base["fentanyl_to_us_kg"].sum()
        assert 0 < supply_fall < share_fall


def test_scheduling_moves_trade_to_analogs_and_class_control_slows_the_rebound(baseline, child):
    single = child("control_4_piperidone", "policies:\n  - type: class_scheduling\n"
                   "    regulator: china\n    chemicals: [4-piperidone]\n    start: 2025-01\n")
    reached_kg = {"one": 0.0, "whole": 0.0}
    for seed in SEEDS:
        one = window(run(single, seed))
        whole = window(run(SCENARIOS / "analog_class_control.yaml", seed))
        base = window(baseline[seed])
        early, months = slice(0, 4), slice(26, 52)
        controlled = "precursor_share_4-piperidone"
        assert base[controlled].iloc[months].mean() > 0.5
        # within months the controlled chemical's share falls (Indian firms, not bound by
        # China's list, keep some) and the unscheduled sibling takes over
        assert one[controlled].iloc[months].mean() < 0.5 * base[controlled].iloc[months].mean()
        assert one["precursor_share_1-boc-4-piperidone"].iloc[months].mean() > 0.5
        assert one["unscheduled_precursor_share"].iloc[months].mean() > 0.9
        assert one["precursor_share_4-piperidone"].iloc[early].mean() > 0.3
        # with the whole class controlled the rebound needs a new route: less reaches the US
        year = slice(0, 52)
        assert whole["fentanyl_to_us_kg"].iloc[year].sum() < one["fentanyl_to_us_kg"].iloc[year].sum()
        reached_kg["one"] += one["fentanyl_to_us_kg"].iloc[year].sum()
        reached_kg["whole"] += whole["fentanyl_to_us_kg"].iloc[year].sum()
    # and by more than noise over the paired seeds. With the ladder draws (two a person-week),
    # over seeds 1-10 the first year's cut is -12% to +29%, 11% pooled (seed 9 goes the other
    # way at classroom size); seeds 1 and 2 give 16% and 6%
    assert reached_kg["whole"] < 0.97 * reached_kg["one"]


def test_chinas_2019_control_ends_mailed_fentanyl_and_mexican_synthesis_rises(child):
    path = child("no_2019_control", "policies:\n  - id: china_fentanyl_class\n"
                 "    enabled: false\n")
    weeks = (dt.date(2021, 1, 4) - dt.date(2016, 1, 4)).days // 7
    for seed in SEEDS:
        with_control = window(run(SCENARIOS / "baseline.yaml", seed, weeks), "2019-09-01", "2021")
        without = window(run(path, seed, weeks), "2019-09-01", "2021")
        assert with_control["finished_fentanyl_shipped_kg"].sum() < 0.2 * without[
            "finished_fentanyl_shipped_kg"].sum()
        assert with_control["fentanyl_synthesized_kg"].sum() > without[
            "fentanyl_synthesized_kg"].sum()


def test_sanctions_cut_the_firms_output_and_chinas_cooperation(baseline):
    for seed in SEEDS:
        df = run(SCENARIOS / "sanctions_reinstated.yaml", seed)
        before = df[(df["date"] >= "2024-12-02") & (df["date"] < "2024-12-30")]
        after = df[(df["date"] >= "2025-01-06") & (df["date"] < "2025-02-03")]
        assert after["sanctioned_makers"].iloc[0] > before["sanctioned_makers"].max() + 20
        per_firm_after = after["sanctioned_makers_sales_kg"].sum() / after["sanctioned_makers"].sum()
        assert per_firm_after > 0
        base = window(baseline[seed], "2025-06-01")
        assert window(df, "2025-06-01")["china_cooperation"].mean() < base[
            "china_cooperation"].mean() - 0.3


def test_sanctioned_firms_ship_less_than_before_they_were_listed():
    scenario = load_scenario(SCENARIOS / "sanctions_reinstated.yaml").with_overrides(
        SMALL_SIZE, seed=1, weeks=END_2027)
    model = FentanylModel(scenario)
    policy_week = next(p.start_week for p in scenario.policies if p.id == "sanctions_2025")
    model.run(policy_week)
    listed_before = model.makers.sales_kg.copy()
    model.run(8)
    designated = next(p for p in model.policies if p.id == "sanctions_2025").designated
    assert designated.size == 32
    assert model.makers.sales_kg[designated].sum() < 0.6 * listed_before[designated].sum()


def test_a_taskforce_with_china_cuts_supply_more_than_the_coalition_without_it(baseline):
    for seed in SEEDS:
        base = window(baseline[seed])["fentanyl_to_us_kg"].sum()
        with_china = window(run(SCENARIOS / "taskforce_with_china.yaml", seed))
        without = window(run(SCENARIOS / "global_coalition_only.yaml", seed))
        assert with_china["fentanyl_to_us_kg"].sum() < without["fentanyl_to_us_kg"].sum() < base


def test_demand_reduction_lowers_deaths_and_supply_follows_demand(baseline):
    """Treating demand cuts deaths by more than a fifth; supply does not rise to meet the
    people left: the retail price falls with demand and cartels' sales targets follow it
    (supply pooled over the paired seeds: one seed's loads can run a few percent either way)."""
    supply = {"base": 0.0, "treated": 0.0}
    for seed in SEEDS:
        base = window(baseline[seed])
        treated = window(run(SCENARIOS / "demand_reduction.yaml", seed))
        assert treated["overdose_deaths"].sum() < 0.8 * base["overdose_deaths"].sum()
        assert treated["retail_price_usd_per_mg"].mean() < base["retail_price_usd_per_mg"].mean()
        supply["base"] += base["fentanyl_to_us_kg"].sum()
        supply["treated"] += treated["fentanyl_to_us_kg"].sum()
    assert supply["treated"] < supply["base"]


def test_arms_control_raises_the_share_of_lab_raids_that_succeed(tmp_path):
    # more raid attempts than the default, so the share of successes is measured precisely
    raids = "parameters:\n  cartels: {lab_raid_rate: 0.2}\n"
    paths = {}
    for name in ("baseline", "arms_control"):
        paths[name] = tmp_path / f"{name}_raids.yaml"
        paths[name].write_text(f"extends: {SCENARIOS / (name + '.yaml')}\n{raids}")

    # raids and successes pooled over the paired seeds (about 90 raids a seed from 2026)
    raids, dismantled = {"base": 0.0, "armed": 0.0}, {"base": 0.0, "armed": 0.0}
    for seed in SEEDS:
        runs = {"base": window(run(paths["baseline"], seed), "2026-01-01"),
                "armed": window(run(paths["arms_control"], seed), "2026-01-01")}
        assert (runs["armed"]["cartel_armed_strength"].mean()
                < 0.75 * runs["base"]["cartel_armed_strength"].mean())
        for name, df in runs.items():
            raids[name] += df["mexico_lab_raids"].sum()
            dismantled[name] += df["mexico_labs_dismantled"].sum()
    assert raids["base"] > 150
    assert dismantled["armed"] / raids["armed"] > dismantled["base"] / raids["base"] + 0.05
