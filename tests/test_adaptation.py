"""Enforcers adapt too: customs follow traffic, traffickers move again, regulators list what
they seize. Hand-made network with a Mexican highway checkpoint in front of two US ports."""

import copy

import numpy as np
import pytest
import yaml

from tests.conftest import DATA, TINY, frame

INSPECTED = {"inspections_per_week": 3000, "traffic_per_week": 100000, "detection_prob": 0.8,
             "intel": 0.3}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """`even`: two equal US ports behind a Mexican checkpoint; `flood`: port b costs more, so
    traffickers flood port a."""
    folder = tmp_path_factory.mktemp("worlds")
    base = yaml.safe_load((DATA / "tiny_world.yaml").read_text())
    base["nodes"].insert(4, {"name": "mx_hw", "kind": "transit", "country": "mexico"})
    base["edges"] = [e for e in base["edges"] if e["from"] != "mx_lab"] + [
        {"from": "mx_lab", "to": "mx_hw", "mode": "vehicle", "transit_weeks": 0,
         "cost_usd_per_kg": 100},
        {"from": "mx_hw", "to": "entry_a", "mode": "vehicle", "transit_weeks": 1,
         "cost_usd_per_kg": 1000},
        {"from": "mx_hw", "to": "entry_b", "mode": "vehicle", "transit_weeks": 1,
         "cost_usd_per_kg": 1000}]
    base["customs_agencies"].append({"name": "mexico_military", "country": "mexico", "posts": [
        {"name": "mx_hw", **INSPECTED}]})
    for agency in base["customs_agencies"]:
        for post in agency["posts"]:
            if post["name"] in ("entry_a", "entry_b"):
                post.update(INSPECTED)
    flood = copy.deepcopy(base)
    flood["edges"][-1]["cost_usd_per_kg"] = 3000
    paths = {}
    for name, world in (("even", base), ("flood", flood)):
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(world, sort_keys=False))
    return paths


SEEDS = (7, 8, 9)


def adapt_run(run_model, world, weeks=80, learning=0.2, policies=(), seed=7, posts=None,
              **parameters):
    params = {"customs": {"learning_rate": learning}, **parameters}
    network = {"file": str(world), **({"customs_posts": posts} if posts else {})}
    return frame(run_model(weeks=weeks, network=network, parameters=params,
                           policies=list(policies), seed=seed))


def test_a_flooded_route_draws_inspection_capacity_only_when_customs_learn(run_model, worlds):
    for seed in SEEDS:
        learning = adapt_run(run_model, worlds["flood"], weeks=40, seed=seed)
        fixed = adapt_run(run_model, worlds["flood"], weeks=40, learning=0.0, seed=seed)
        share = learning["inspection_share_entry_a"]
        assert learning["route_share_entry_a"].iloc[5:].mean() > 0.55     # the flood
        assert share.iloc[20:].mean() > 0.55                             # customs follow...
        assert share.iloc[:3].mean() < share.iloc[20:].mean()            # ...within weeks
        assert np.allclose(fixed["inspection_share_entry_a"], 0.5)


def test_after_a_surge_traffic_leaves_then_returns_as_customs_rebalance(run_model, worlds):
    surge = [{"type": "customs_surge", "posts": ["entry_a"], "inspections_multiplier": 4,
              "start": "2016-03-07"}]
    for seed in SEEDS:
        learning = adapt_run(run_model, worlds["even"], weeks=120, policies=surge, seed=seed)
        fixed = adapt_run(run_model, worlds["even"], weeks=120, learning=0.0, policies=surge,
                          seed=seed)
        share_learning, share_fixed = learning["route_share_entry_a"], fixed["route_share_entry_a"]
        dip = share_learning.iloc[12:30].min()
        assert dip < 0.3                                                  # traffic leaves
        assert share_learning.iloc[90:].mean() > dip + 0.1               # and partly returns
        assert share_learning.iloc[90:].mean() > share_fixed.iloc[90:].mean() + 0.05
        assert learning["inspection_share_entry_a"].iloc[90:].mean() < learning[
            "inspection_share_entry_a"].iloc[12]                          # customs moved


def test_shared_intelligence_makes_members_follow_traffic_faster(run_model, worlds):
    """US ports see few seizures of their own; the Mexican checkpoint in front sees many.
    Shared through a taskforce (with no other effect), they tell US customs where loads go."""
    sharing = [{"type": "taskforce", "members": ["us", "mexico"], "intel_sharing": 0.0,
                "joint_raid_multiplier": 1.0, "link_cut_prob": 0.0, "supplier_raid_rate": 0.0,
                "start": "2016-01-04"}]
    sparse = {"entry_a": {"detection_prob": 0.1}, "entry_b": {"detection_prob": 0.1},
              "mx_hw": {"detection_prob": 0.9}}
    gains = []
    for seed in SEEDS:
        kwargs = dict(weeks=30, learning=0.1, seed=seed, posts=sparse)
        alone = adapt_run(run_model, worlds["flood"], **kwargs)
        shared = adapt_run(run_model, worlds["flood"], policies=sharing, **kwargs)
        gains.append(shared["inspection_share_entry_a"].iloc[5:25].mean()
                     - alone["inspection_share_entry_a"].iloc[5:25].mean())
    assert min(gains) > 0 and np.mean(gains) > 0.03


def test_a_regulator_lists_an_analog_sooner_when_more_of_it_is_seized(run_model):
    china = {"type": "class_scheduling", "regulator": "china", "classes": ["npp_anpp"],
             "start": "2016-01-04"}
    mexico = {"type": "class_scheduling", "regulator": "mexico", "chemicals": ["4-ap"],
              "start": "2016-01-04"}
    params = {"regulators": {"un_detection_lag_weeks": 40, "detection_seizure_kg": 0.5},
              "makers": {"new_route_lag_weeks": 4.0}}
    port = {"customs_posts": {"mx_port": {"inspections_per_week": 20000}}}
    weeks = {}
    for label, policies in (("unseized", [china]), ("seized", [china, mexico])):
        model = run_model(base=TINY, weeks=100, policies=policies, parameters=params,
                          network=port)
        weeks[label] = next(e.week for e in model.events if str(e).startswith("un controls 4-ap"))
        if label == "seized":
            assert frame(model)["precursor_seized_kg"].sum() > 5
    assert weeks["seized"] < weeks["unseized"] - 5
