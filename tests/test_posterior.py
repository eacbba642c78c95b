"""The posterior: `calibrate --method posterior` recovers a parameter that made synthetic
targets, resumes, and refuses bad input; `compare` over a posterior pairs each replicate's draw
and seed across scenarios; posterior files and priors are checked as scenario files are."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibrate import annual, weeks_through
from sim.cli import main
from sim.config import ScenarioError, load_scenario
from sim.ensemble import run
from sim.posterior import calibrate_posterior
from sim.study import compare
from tests.conftest import TINY

HAZARD = "users.overdose_hazard_per_use"
TRUE_HAZARD = 1.2e-4
SEEDS = (7, 8)            # the tiny scenario's seed and the next: the calibration's replicates
PRIOR = {"path": HAZARD, "low": 3e-5, "high": 3e-4, "source": "test"}
IGNORED = {"path": "cartels.risk_aversion", "low": 2.0, "high": 32.0, "source": "test"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A tiny scenario whose 2016-2017 overdose deaths were made by the model itself at
    TRUE_HAZARD (the median over the calibration's seeds), with the hazard free and the route
    weight (which deaths in two years of the tiny world do not depend on) as a prior."""
    folder = tmp_path_factory.mktemp("synthetic")
    weeks = weeks_through(load_scenario(TINY).start, 2017)
    runs = [annual(run(TINY, seed, weeks, {HAZARD: TRUE_HAZARD}).timeseries, "overdose_deaths")
            for seed in SEEDS]
    median = pd.DataFrame(runs).median()
    pd.DataFrame({"year": [2016, 2017], "deaths": [median[2016], median[2017]]}).to_csv(
        folder / "observed.csv", index=False)
    block = {"target": {"file": "observed.csv", "column": "deaths", "metric": "overdose_deaths",
                        "years": [2016, 2017]},
             "observation_error": {"overdose_deaths": 0.1},     # the likelihood's error sd
             "free": [PRIOR], "priors": [IGNORED]}
    path = folder / "synthetic.yaml"
    path.write_text(yaml.safe_dump({"extends": str(TINY), "calibration": block}))
    return path


def _posterior(path, out, **extra):
    return calibrate_posterior(path, replicates=len(SEEDS), design_points=12,
                     refine_points=6, draws=300, check_runs=8, steps=400, workers=1, out=out,
                     **extra)


def test_posterior_recovers_the_hazard_that_made_the_targets_and_resumes(synthetic, tmp_path):
    out = tmp_path / "posterior"
    draws = _posterior(synthetic, out)
    table = pd.read_csv(out / "posterior.csv")
    assert list(table.columns) == ["draw", HAZARD, IGNORED["path"], "weight"]
    assert len(table) == 300 and (table["weight"] == 1).all()      # equally likely draws
    low, high = np.percentile(table[HAZARD], [5, 95])
    assert low <= TRUE_HAZARD <= high, (low, high)
    assert high - low < 0.3 * (PRIOR["high"] - PRIOR["low"])           # the data inform it
    ignored = np.percentile(table[IGNORED["path"]], [5, 95])          # the data do not
    assert ignored[1] - ignored[0] > 0.5 * (IGNORED["high"] - IGNORED["low"]), ignored
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ess"] > 100 and 0 < summary["mcmc"]["acceptance"] < 1
    assert summary["runs"] == (12 + 6) * 2 + 8
    assert summary["predictive"]["observed_inside_90"] == 1.0
    for name in ("posterior_predictive.png", "posterior_marginals.png", "predictive.csv",
                 "design.csv"):
        assert (out / name).is_file(), name

    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == summary["runs"] + 1                           # and the manifest
    again = _posterior(synthetic, out, resume=True)
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs   # nothing rerun
    pd.testing.assert_frame_equal(again, draws)


def _cli_posterior(path, out, *extra) -> int:
    return main(["calibrate", str(path), "--method", "posterior", "--replicates", "1",
                 "--design-points", "3", "--refine-points", "0", "--check-runs", "0",
                 "--workers", "1", "--out", str(out), "--quiet", *extra])


@pytest.mark.parametrize("extra, message", [
    (["--lhs-points", "3"], "--lhs-points: only with --method point"),
    (["--draws", "0"], "expected 1 to"),
    (["--design-points", "1"], "expected 2 to"),
    (["--method", "bayes"], "invalid choice"),
])
def test_posterior_options_are_checked(synthetic, tmp_path, capsys, extra, message):
    try:
        status = _cli_posterior(synthetic, tmp_path / "out", *extra)
    except SystemExit as exit_info:   # argparse's own checks
        status = exit_info.code
    assert status == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_point_options_refuse_posterior_flags(synthetic, tmp_path, capsys):
    status = main(["calibrate", str(synthetic), "--design-points", "4", "--out",
                   str(tmp_path / "out"), "--quiet"])
    assert status == 2 and "--design-points: only with --method posterior" in \
        capsys.readouterr().err


# --- compare over a posterior -----------------------------------------------------------

LOW_HAZARD, HIGH_HAZARD = 5e-5, 2e-4


@pytest.fixture
def two_draws(tmp_path):
    """A posterior of two equally likely hazards, four times apart."""
    path = tmp_path / "draws.csv"
    path.write_text(f"draw,{HAZARD},weight\n1,{LOW_HAZARD},0.5\n2,{HIGH_HAZARD},0.5\n")
    return path


def _deaths(table: pd.DataFrame, scenario: str) -> pd.Series:
    return table[(table["scenario"] == scenario) & (table["metric"] == "overdose_deaths")
                 ].iloc[0]


def test_compare_draws_one_parameter_set_per_replicate_for_every_scenario(tmp_path, two_draws):
    twin = tmp_path / "twin.yaml"
    twin.write_text(f"extends: {TINY}\nname: twin\n")
    options = {"replicates": 8, "weeks": 30, "workers": 1, "metrics": ["overdose_deaths"]}
    drawn = compare([TINY, twin], posterior=two_draws, out=tmp_path / "drawn", **options)
    plain = compare([TINY, twin], posterior="none", **options)
    draws = pd.read_csv(tmp_path / "drawn" / "posterior_draws.csv")
    assert list(draws["seed"]) == list(range(7, 15))
    assert set(draws[HAZARD]) == {LOW_HAZARD, HIGH_HAZARD}     # both drawn over 8 replicates
    # the twin ran each replicate with the same draw and seed: every paired difference is 0
    twin_row = _deaths(drawn, "twin")
    assert twin_row["diff_p5"] == twin_row["diff_p95"] == 0
    # a fourfold hazard spreads deaths far beyond what seeds alone do
    spread = _deaths(drawn, "tiny")
    seeds_only = _deaths(plain, "tiny")
    assert spread["p95"] / spread["p5"] > 2 > 1.5 > seeds_only["p95"] / seeds_only["p5"]
    csv = pd.read_csv(tmp_path / "drawn" / "comparison.csv")
    assert csv["uncertainty"].str.contains("posterior").all()
    assert plain["uncertainty"].str.startswith("seeds only").all()


def test_a_scenario_posterior_key_is_used_by_compare_and_inherited(tmp_path, two_draws):
    parent = tmp_path / "with_posterior.yaml"
    parent.write_text(f"extends: {TINY}\nname: with_posterior\nposterior: draws.csv\n")
    child = tmp_path / "sub" / "child.yaml"
    child.parent.mkdir()
    child.write_text("extends: ../with_posterior.yaml\nname: child\n")
    assert load_scenario(child).posterior == two_draws             # beside the declaring file
    table = compare([parent, child], replicates=2, weeks=5, workers=1,
                    metrics=["overdose_deaths"])
    assert table["uncertainty"].str.contains(str(two_draws)).all()


@pytest.mark.parametrize("text, message", [
    (None, "posterior CSV file not found"),
    ("draw,users.hazard,weight\n1,1e-4,1\n", "'users.hazard' is not a real-valued parameter"),
    (f"{HAZARD},weight\n1e-4,-1\n2e-4,2\n", "weight: expected weights >= 0"),
    (f"{HAZARD},weight\n1e-4,0\n", "weight: expected weights >= 0 with a positive sum"),
    (f"{HAZARD},weight\nlots,1\n", "expected a finite number"),
    (f"{HAZARD},weight\n2.0,1\n", "out of range"),
    (f"{HAZARD}\n1e-4\n", "'weight' column"),
    ("policies.nope.institute_penalty,weight\n0.1,1\n", "no policy with id 'nope'"),
])
def test_a_bad_posterior_file_names_the_file_and_exits_2(tmp_path, capsys, text, message):
    draws = tmp_path / "draws.csv"
    if text is not None:
        draws.write_text(text)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"extends: {TINY}\nposterior: draws.csv\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert str(err.value).startswith(f"{scenario}:") and ": posterior: " in str(err.value)
    assert message in str(err.value), err.value
    status = main(["compare", str(TINY), "--posterior", str(draws), "--replicates", "1",
                   "--weeks", "2", "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"])
    assert status == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- priors: policy fields, the whole set of a kind ----------------------------------------

SANCTIONS = [{"id": "first", "type": "sanctions", "firms": 1, "start": "2016-02"},
             {"id": "second", "type": "sanctions", "firms": 1, "institute": True,
              "start": "2016-06"}]


def test_every_policy_field_override_sets_the_field_of_each_policy_that_has_it(scenario_file):
    scenario = load_scenario(scenario_file(policies=SANCTIONS))
    changed = scenario.with_overrides({"policies.*.institute_penalty": 0.25})
    assert [p.institute_penalty for p in changed.policies] == [0.25, 0.25]
    with pytest.raises(ScenarioError, match="no policy of the scenario has a field"):
        scenario.with_overrides({"policies.*.cooperation_boost": 0.1})


@pytest.mark.parametrize("priors, key, message", [
    ([{**IGNORED, "path": "policies.*.institute_penalty", "low": 0.1, "high": 0.6}], None, None),
    ([{**IGNORED, "path": "policies.second.institute_penalty", "high": 0.6, "low": 0.1}], None,
     None),
    ([{**IGNORED, "path": "policies.nope.institute_penalty"}], "calibration.priors.0.path",
     "no policy with id 'nope'"),
    ([{**IGNORED, "path": "policies.*.institute", "low": 0, "high": 1}],
     "calibration.priors.0.path", "not a real-valued field"),
    ([{**IGNORED, "path": "policies.*.institute_penalty", "low": 0.1, "high": 2.0}],
     "calibration.priors.0.high", "out of range"),
    ([PRIOR], "calibration.priors.0.path", "listed twice (also under free:)"),
    ([{**IGNORED, "sourse": "x"}], "calibration.priors.0.sourse", "Did you mean"),
    ([], "calibration.priors", "non-empty list"),
])
def test_priors_are_checked_as_free_parameters_are(scenario_file, tmp_path, priors, key,
                                                   message):
    observed = tmp_path / "observed.csv"
    observed.write_text("year,deaths\n2016,3000\n")
    block = {"target": {"file": str(observed), "column": "deaths", "metric": "overdose_deaths",
                        "years": [2016, 2016]}, "free": [PRIOR], "priors": priors}
    path = scenario_file(policies=SANCTIONS, calibration=block)
    if key is None:
        spec = load_scenario(path).calibration
        assert [p.path for p in spec.sampled] == [HAZARD, priors[0]["path"]]
        return
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).startswith(f"{path}:") and f": {key}: " in str(err.value)
    assert message in str(err.value), err.value


def test_the_same_posterior_on_one_process_and_on_a_dask_cluster(synthetic, tmp_path):
    from tests.test_compare import dask_cluster

    options = {"replicates": 1, "design_points": 4, "refine_points": 2,
               "draws": 50, "check_runs": 2, "steps": 100}
    local = calibrate_posterior(synthetic, workers=1, **options)
    with dask_cluster() as address:
        remote = calibrate_posterior(synthetic, scheduler=address, out=tmp_path / "dask", **options)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert (tmp_path / "dask" / "posterior.csv").is_file()


def test_draws_come_from_every_walker_at_steps_spread_over_the_chain():
    from sim.emulator import Chain

    steps, walkers = 100, 8
    samples = np.stack(np.meshgrid(np.arange(steps), np.arange(walkers), indexing="ij"), -1)
    draws = Chain(samples.astype(float), 0.3, np.ones(2)).thinned(16)
    assert sorted(draws[:, 1]) == sorted(list(range(walkers)) * 2)     # every walker, twice
    assert set(draws[:, 0]) == {0, steps - 1}                         # first and last step
