"""Sensitivity (SALib) and scenario discovery (PRIM) on problems with a known answer, the
`sensitivity` and `discover` commands end to end on the tiny scenario, and their bad input."""

import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.discovery import find_boxes
from sim.sensitivity import sample, sensitivity_table
from sim.uncertain import Uncertain, salib_problem, uncertain_parameters
from sim.validation import ScenarioError
from tests.conftest import TINY
from tests.test_compare import cli, dask_cluster, stopped

WEEKS = "20"
PROBLEM = salib_problem((Uncertain("strong", 0.0, 1.0, ""), Uncertain("weak", 0.0, 1.0, ""),
                         Uncertain("ignored", 0.0, 1.0, "")))


def synthetic(x: np.ndarray) -> np.ndarray:
    """Depends strongly on the first input, a little (and not linearly) on the second, not at all
    on the third."""
    return 10 * x[:, 0] + 2 * x[:, 1] ** 2 + 0 * x[:, 2]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sobol_ranks_first_the_parameter_the_outcome_depends_on_and_ignores_the_other(seed):
    x = sample(PROBLEM, "sobol", 256, seed)
    table = sensitivity_table(PROBLEM, "sobol", x, {"y": synthetic(x)}, seed).set_index(
        "parameter")
    assert list(table.index) == ["strong", "weak", "ignored"]     # ranked by total index
    assert table.loc["strong", "S1"] > 0.9 and table.loc["strong", "ST"] > 0.9
    assert abs(table.loc["ignored", "S1"]) < 0.02 and abs(table.loc["ignored", "ST"]) < 0.02
    assert table.loc["weak", "ST"] > table.loc["ignored", "ST"]


def test_morris_ranks_the_same_and_gives_the_ignored_input_no_effect():
    x = sample(PROBLEM, "morris", 20, 4)
    table = sensitivity_table(PROBLEM, "morris", x, {"y": synthetic(x)}, 4).set_index("parameter")
    assert list(table.columns) == ["outcome", "mu_star", "sigma"]
    assert list(table.index) == ["strong", "weak", "ignored"]
    assert table.loc["strong", "mu_star"] == pytest.approx(10)      # a linear effect's slope
    assert table.loc["ignored", "mu_star"] == 0 and table.loc["ignored", "sigma"] == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_prim_finds_a_box_planted_in_a_synthetic_outcome(seed):
    g = np.random.default_rng(seed)
    x = pd.DataFrame(g.uniform(0, 1, (800, 4)), columns=["a", "b", "c", "d"])
    fails = ((x["a"] > 0.6) & (x["b"] < 0.3)).to_numpy()
    boxes, trajectories = find_boxes(x, fails)
    box = boxes[boxes["box"] == 1].set_index("parameter")
    assert set(box.index[box["restricted"]]) == {"a", "b"}
    assert box.loc["a", "low"] == pytest.approx(0.6, abs=0.05)
    assert box.loc["b", "high"] == pytest.approx(0.3, abs=0.05)
    assert box["density"].iloc[0] > 0.9 and box["coverage"].iloc[0] > 0.8
    chosen = trajectories[0][trajectories[0]["chosen"]].iloc[0]
    assert chosen["coverage"] == box["coverage"].iloc[0]


def test_prim_without_failures_finds_no_box():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50), "b": np.linspace(1, 0, 50)})
    boxes, trajectories = find_boxes(x, np.zeros(50, bool))
    assert boxes.empty and trajectories == []


def test_a_posterior_is_sampled_over_the_support_of_its_weighted_draws(tmp_path):
    from sim.config import load_scenario

    path = tmp_path / "posterior.csv"
    path.write_text("draw,users.overdose_hazard_per_use,cartels.supplier_search_prob,weight\n"
                    "0,8e-5,1.5,0.5\n1,9e-5,3.0,0.5\n2,2e-4,9.0,0\n")
    scenario = load_scenario(TINY)
    uncertain = {u.path: u for u in uncertain_parameters([scenario], posterior=path)}
    assert set(uncertain) == {"users.overdose_hazard_per_use", "cartels.supplier_search_prob"}
    assert (uncertain["cartels.supplier_search_prob"].low,
            uncertain["cartels.supplier_search_prob"].high) == (1.5, 3.0)   # weight 0 left out
    chosen = uncertain_parameters([scenario], "cartels.supplier_search_prob,"
                                  "cartels.learning_rate=0.1:0.5", path)
    assert [(u.path, u.low, u.high) for u in chosen] == [
        ("cartels.supplier_search_prob", 1.5, 3.0), ("cartels.learning_rate", 0.1, 0.5)]
    path.write_text("users.overdose_hazard_per_use_,weight\n8e-5,1\n9e-5,1\n")
    with pytest.raises(ScenarioError, match=r"posterior.csv: --posterior: column "
                                            "'users.overdose_hazard_per_use_': .* not a "
                                            "real-valued parameter"):
        uncertain_parameters([scenario], posterior=path)
    path.write_text("users.overdose_hazard_per_use,weight\n8e-5,1\nlots,1\n")
    with pytest.raises(ScenarioError, match=r"posterior.csv:3: --posterior: "
                                            "users.overdose_hazard_per_use: expected a finite"):
        uncertain_parameters([scenario], posterior=path)


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    """The tiny scenario with a naloxone policy from week 1 whose strength a study samples."""
    path = tmp_path_factory.mktemp("kits") / "tiny_kits.yaml"
    path.write_text(yaml.safe_dump({"extends": str(TINY), "name": "tiny_kits", "policies": [
        {"id": "kits", "type": "naloxone_access", "start": "2016-01-11",
         "naloxone_multiplier": 2.0}]}))
    return path


# a parameter that cannot act within the runs (regulators adopt UN controls, and the UN
# controls nothing in the first weeks), beside the policy's strength
PARAMETERS = "policies.kits.naloxone_multiplier=1:2.5,regulators.us_adoption_lag_weeks=5:50"


def test_sensitivity_end_to_end_attributes_the_effect_to_the_policy_strength(kits, tmp_path):
    out = tmp_path / "sens"
    args = ["sensitivity", TINY, kits, "--n", "4", "--parameters", PARAMETERS, "--weeks", WEEKS,
            "--quiet", "--out", out]
    with dask_cluster() as address:
        result = cli(*args, "--scheduler", address)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    effect = table[table["outcome"] == "effect.overdose_deaths"].set_index("parameter")
    assert effect.index[0] == "policies.kits.naloxone_multiplier" and effect["ST"].iloc[0] > 0.5
    # a parameter that changes nothing leaves every run as it was: no variance at all
    assert (table.loc[table["parameter"] == "regulators.us_adoption_lag_weeks",
                      ["S1", "ST"]].fillna(0) == 0).all().all()
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 4 * (2 + 2)
    assert np.allclose(samples["effect.overdose_deaths"],
                       samples["tiny_kits.overdose_deaths"] - samples["tiny.overdose_deaths"])
    assert samples["tiny.overdose_deaths"].nunique() == 1   # the policy's field is not in tiny
    assert (out / "figures" / "effect.overdose_deaths.png").stat().st_size > 10_000
    assert "most influential" in result.stdout
    # in one process, killed after 5 runs, then resumed on local processes: the same table
    killed = stopped([*args[:-1], tmp_path / "local", "--workers", "1"], "runs:5", "SIGKILL")
    assert killed.returncode == -signal.SIGKILL
    resumed = cli(*args[:-1], tmp_path / "local", "--workers", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "local" / "sensitivity.csv"),
                                  check_exact=True)


def test_discover_end_to_end_boxes_the_weak_policies(kits, tmp_path):
    out = tmp_path / "disc"
    result = cli("discover", TINY, kits, "--n", "30", "--parameters", PARAMETERS, "--weeks",
                 WEEKS, "--threshold", "1000", "--workers", "2", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    samples = pd.read_csv(out / "samples.csv")
    strength = samples["policies.kits.naloxone_multiplier"]
    assert (samples["fails"] == (-samples["effect.overdose_deaths"] < 1000)).all()
    assert samples["fails"].any() and not samples["fails"].all()
    boxes = pd.read_csv(out / "boxes.csv")
    assert list(boxes.columns) == ["box", "parameter", "low", "high", "restricted", "coverage",
                                   "density", "mass"]
    box = boxes[boxes["box"] == 1].set_index("parameter")
    # weaker kits avert fewer deaths: the first box holds the low multipliers
    assert box.loc["policies.kits.naloxone_multiplier", "restricted"]
    assert box.loc["policies.kits.naloxone_multiplier", "high"] < strength.max()
    inside = np.ones(len(samples), bool)
    for parameter, row in box.iterrows():
        inside &= samples[parameter].between(row["low"], row["high"]).to_numpy()
    fails = samples["fails"].to_numpy()
    assert box["density"].iloc[0] == pytest.approx(fails[inside].mean())
    assert box["coverage"].iloc[0] == pytest.approx(fails[inside].sum() / fails.sum())
    assert (out / "figures" / "tradeoff.png").stat().st_size > 10_000
    assert "box 1" in result.stdout


def test_the_api_returns_the_tables_and_writes_nothing_without_a_folder(kits, tmp_path,
                                                                        monkeypatch):
    import sim

    monkeypatch.chdir(tmp_path)
    table = sim.sensitivity(TINY, method="morris", n=2, weeks=10, workers=1,
                            parameters={"users.treatment_exit_prob": (0.01, 0.04)})
    assert list(table.columns) == ["outcome", "parameter", "mu_star", "sigma"]
    assert set(table["outcome"]) == {"tiny.overdose_deaths", "tiny.fentanyl_to_us_kg"}
    boxes = sim.discover(TINY, kits, n=10, weeks=10, workers=1, threshold=1e9,
                         parameters=["policies.kits.naloxone_multiplier=1:2"])
    # every point averts fewer than a billion deaths: one box, the whole space, all failing
    assert set(boxes["box"]) == {1} and boxes["density"].iloc[0] == 1
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def bad_posterior(tmp_path):
    path = tmp_path / "no_weight.csv"
    path.write_text("users.overdose_hazard_per_use\n8e-5\n")
    return path


BAD = [
    (["sensitivity", TINY, "--method", "sobel"], "invalid choice: 'sobel'"),
    (["sensitivity", TINY, "--n", "48"], "expected a power of 2"),
    (["sensitivity", TINY, "--n", "0"], "--n: expected 1 to"),
    (["sensitivity", TINY, "--parameters", "cartels.learning_rat"],
     "Did you mean 'cartels.learning_rate'"),
    (["sensitivity", TINY, "--parameters", "cartels.learning_rate"],
     "give one as cartels.learning_rate=LOW:HIGH"),
    (["sensitivity", TINY, "--parameters", "cartels.learning_rate=0.5:0.1"],
     "expected LOW < HIGH"),
    (["sensitivity", TINY, "--parameters", "cartels.learning_rate=0.1:2"],
     "the range's high end 2 is not a value it can take"),
    (["sensitivity", TINY, "--parameters", "cartels.learning_rate=fast"],
     "expected PATH or PATH=LOW:HIGH"),
    (["sensitivity", TINY, "--parameters", "policies.nope.start=0:1"],
     "no scenario of the study has a policy with this id"),
    (["sensitivity", TINY, "--posterior", "missing.csv"], "posterior CSV file not found"),
    (["sensitivity", TINY, "--posterior", "BAD_POSTERIOR"], "expected a header with a 'weight' column"),
    (["sensitivity", TINY, "--metrics", "overdose_death"], "Did you mean 'overdose_deaths'"),
    (["sensitivity", TINY, Path(__file__).parents[1] / "scenarios" / "baseline.yaml"],
     "mismatched horizons"),
    (["sensitivity", TINY, "--scheduler", "tcp://[::1"], "is not a scheduler address"),
    (["discover", TINY], "the following arguments are required: policy"),
    (["discover", TINY, TINY, "--n", "5"], "--n: expected a whole number of 10 or more"),
    (["discover", TINY, TINY, "--threshold", "nan"], "--threshold: expected a finite number"),
    (["discover", TINY, TINY, "--metric", "overdose_death"], "Did you mean 'overdose_deaths'"),
    (["discover", TINY, TINY, "--window", "2030-01:2030-12"], "outside the run"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_exits_2_and_leaves_nothing(tmp_path, monkeypatch, capsys, bad_posterior, args,
                                              message):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args = [str(bad_posterior if a == "BAD_POSTERIOR" else a) for a in args]
    try:
        status = main([*args, "--out", str(out), "--quiet"])
    except SystemExit as stop:     # argparse's own errors
        status = stop.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_baseline_posterior_can_be_sampled_with_its_every_policy_fields():
    """The shipped posterior moves `policies.*.<field>` (a field of every policy that has it):
    a study samples it where a scenario has such a policy and refuses it where none has."""
    from sim.config import load_scenario

    root = Path(__file__).resolve().parents[1]
    posterior = root / "scenarios" / "baseline_posterior.csv"
    baseline = load_scenario(root / "scenarios" / "baseline.yaml")
    uncertain = {u.path: u for u in uncertain_parameters([baseline], posterior=posterior)}
    penalty = uncertain["policies.*.institute_penalty"]
    assert 0.1 <= penalty.low < penalty.high <= 0.7     # within the prior's range
    with pytest.raises(ScenarioError, match="with this field"):
        uncertain_parameters([load_scenario(TINY)], "policies.*.institute_penalty=0.1:0.7")
