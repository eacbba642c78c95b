"""Calibration: the shipped baseline reproduces US synthetic-opioid deaths 2016-2023 and CBP's
gross fentanyl seizures FY2019-FY2023 through its rules (a regression guard, not validation:
both series were fitted), and `run.py calibrate` fits, writes its outputs, resumes and refuses
bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibrate import annual, fit_table, shipped_fit
from sim.cli import main
from sim.config import ScenarioError, load_scenario
from sim.policies import POLICY_TYPES, Levers

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
OBSERVED = ROOT / "data" / "observed" / "us_overdose_deaths.csv"
SEIZURES = ROOT / "data" / "observed" / "cbp_fentanyl_seizures.csv"
DEATHS_TOLERANCE = 0.10     # every year 2016-2023
SEIZURES_TOLERANCE = 0.25   # every fiscal year 2019-2023


@pytest.fixture(scope="module")
def baseline_table(tmp_path_factory) -> pd.DataFrame:
    """The shipped baseline, 2016-2023, 8 replicates (seeds 42-49) on 2 processes: per target
    and year, observed and the model's median over replicates."""
    fit = shipped_fit(BASELINE, 8, 2, tmp_path_factory.mktemp("baseline_runs"))
    assert fit.weeks == 417 and fit.seeds == list(range(42, 50))
    return fit_table(fit, {})


@pytest.fixture
def baseline_fit(baseline_table) -> pd.DataFrame:
    """Synthetic-opioid deaths (people/year) by calendar year."""
    return baseline_table[baseline_table["metric"] == "synthetic_opioid_deaths"].set_index("year")


@pytest.fixture
def baseline_median(baseline_fit) -> pd.Series:
    return baseline_fit["model_median"]


def test_baseline_median_deaths_within_10_percent_of_nchs_2016_to_2023(baseline_fit):
    observed = pd.read_csv(OBSERVED).set_index("year")["synthetic_opioid_deaths_t404"]
    assert (baseline_fit["observed"] == observed.loc[2016:2023]).all()
    errors = {year: baseline_fit["model_median"][year] / observed[year] - 1
              for year in range(2016, 2024)}
    assert all(abs(e) <= DEATHS_TOLERANCE for e in errors.values()), errors


def test_baseline_gross_seizures_within_25_percent_of_cbp_fy2019_to_fy2023(baseline_table):
    rows = baseline_table[baseline_table["metric"] == "fentanyl_seized_gross_kg"]
    assert set(rows["period"]) == {"fiscal"}
    seized = rows.set_index("year")
    observed = pd.read_csv(SEIZURES).set_index("fiscal_year")["fentanyl_seized_kg"]
    errors = {year: seized["model_median"][year] / observed[year] - 1 for year in range(2019, 2024)}
    assert all(abs(e) <= SEIZURES_TOLERANCE for e in errors.values()), errors


def test_baseline_deaths_rise_2016_to_2021_then_plateau(baseline_median):
    d = baseline_median.round()
    assert d[2021] > 2.5 * d[2016], d.to_dict()                       # observed: 3.6x
    assert d[2016] < d[2017] < d[2019] < d[2020] < d[2021], d.to_dict()
    rise = (d[2021] / d[2016]) ** (1 / 5) - 1                           # per year, 2016-2021
    for year in (2022, 2023):                # a plateau: yearly change within the level
        change = d[year] / d[year - 1] - 1  # 15%, and under half the earlier rise
        assert abs(change) < min(0.15, rise / 2), (year, change, rise, d.to_dict())


def test_pandemic_disruption_cuts_naloxone_and_treatment_entry():
    levers = Levers.from_params(load_scenario(BASELINE).parameters, 3)
    before = levers.naloxone_coverage
    POLICY_TYPES["pandemic_disruption"](start=None).modify(levers, model=None)
    assert levers.naloxone_coverage == pytest.approx(0.6 * before)
    assert levers.treatment_entry_multiplier == pytest.approx(0.8)


def test_run_and_compare_ignore_the_calibration_block():
    scenario = load_scenario(BASELINE)
    assert scenario.calibration is not None and "calibration" not in scenario.resolved


# --- the command, on the tiny test world ---------------------------------------------------

@pytest.fixture
def calibrated_scenario(scenario_file, tmp_path):
    """A tiny scenario whose 2016 overdose deaths are fitted to a made-up observation."""
    observed = tmp_path / "observed.csv"
    observed.write_text("year,deaths,source\n2016,3000,made up for the test\n")
    block = {"target": {"file": str(observed), "column": "deaths", "metric": "overdose_deaths",
                        "years": [2016, 2016]},
             "free": [{"path": "users.overdose_hazard_per_use", "low": 1e-5, "high": 1e-3,
                       "source": "test"}]}
    return scenario_file(calibration=block)


def _calibrate(path, out, *extra) -> int:
    return main(["calibrate", str(path), "--replicates", "2", "--lhs-points", "3",
                 "--max-evals", "4", "--workers", "1", "--out", str(out), "--quiet", *extra])


def test_calibrate_writes_fit_and_resumes(calibrated_scenario, tmp_path, scenario_file):
    out = tmp_path / "fit"
    assert _calibrate(calibrated_scenario, out) == 0
    for name in ("fitted.yaml", "fit.csv", "untargeted.csv", "evaluations.csv", "fit.png",
                 "summary.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "fit.csv")
    assert list(table.columns) == ["metric", "period", "year", "observed", "model_median",
                                   "model_p5", "model_p95", "error_pct"]
    evaluations = pd.read_csv(out / "evaluations.csv")
    assert list(evaluations.stage[:4]) == ["start", "lhs", "lhs", "lhs"]
    assert len(evaluations) == 1 + 3 + 4
    best = evaluations["objective"].min()
    assert best <= evaluations.loc[evaluations.stage != "nelder-mead", "objective"].min()
    fitted = yaml.safe_load((out / "fitted.yaml").read_text())
    value = fitted["parameters"]["users"]["overdose_hazard_per_use"]
    assert 1e-5 <= value <= 1e-3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective_value"] == pytest.approx(best, rel=1e-5)   # csv: 6 digits
    shipped = load_scenario(scenario_file(parameters=fitted["parameters"]))   # usable as is
    assert shipped.parameters["users"]["overdose_hazard_per_use"] == value

    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert _calibrate(calibrated_scenario, out, "--resume") == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs     # nothing rerun
    assert yaml.safe_load((out / "fitted.yaml").read_text()) == fitted
    assert _calibrate(calibrated_scenario, out) == 2                    # exists, no --force


def test_calibrate_without_a_block_or_with_bad_flags_exits_2(tmp_path, scenario_file, capsys):
    plain = scenario_file()
    assert _calibrate(plain, tmp_path / "a") == 2
    assert "calibration: missing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", str(plain), "--max-evals", "-1"])
    assert exit_info.value.code == 2
    assert not (tmp_path / "a").exists()


GOOD_FREE = {"path": "users.overdose_hazard_per_use", "low": 1e-5, "high": 1e-3, "source": "x"}


@pytest.mark.parametrize("change, key, message", [
    ({"free": [{**GOOD_FREE, "path": "users.hazard"}]}, "calibration.free.0.path",
     "not a real-valued parameter"),
    ({"free": [{**GOOD_FREE, "path": "users.agents"}]}, "calibration.free.0.path",
     "not a real-valued parameter"),
    ({"free": [{**GOOD_FREE, "high": 1e-6}]}, "calibration.free.0.high", "expected high > low"),
    ({"free": [{**GOOD_FREE, "low": -1.0}]}, "calibration.free.0.low", "out of range"),
    ({"free": [{**GOOD_FREE, "sourse": "x"}]}, "calibration.free.0.sourse", "Did you mean"),
    ({"free": []}, "calibration.free", "non-empty list"),
    ({"target": {"metric": "deaths"}}, "calibration.target.metric", "unknown metric"),
    ({"target": {"column": "death"}}, "calibration.target.column", "no column 'death'"),
    ({"target": {"years": [2016, 2030]}}, "calibration.target.years", "has no deaths"),
    ({"target": {"years": 2016}}, "calibration.target.years", "expected [first, last]"),
    ({"target": {"file": "missing.csv"}}, "calibration.target.file", "existing CSV"),
    ({"target": {"period": "lunar"}}, "calibration.target.period", "expected one of"),
    ({"target": {"period": "fiscal"}}, "calibration.target.period", "no column 'fiscal_year'"),
    ({"targets": []}, "calibration", "either 'target'"),
])
def test_bad_calibration_block_names_file_line_and_key(scenario_file, tmp_path, change, key,
                                                        message):
    observed = tmp_path / "observed.csv"
    observed.write_text("year,deaths,source\n2016,3000,made up\n")
    block = {"target": {"file": str(observed), "column": "deaths", "metric": "overdose_deaths",
                        "years": [2016, 2016]}, "free": [GOOD_FREE]}
    block = {**block, **{k: ({**block[k], **v} if isinstance(v, dict) else v)
                         for k, v in change.items()}}
    path = scenario_file(calibration=block)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert text.startswith(f"{path}:") and f": {key}: " in text and message in text, text
    assert np.char.isdigit(text.split(":")[1]).item(), text          # the YAML line


def test_targets_fit_together_by_calendar_and_fiscal_year(scenario_file, tmp_path):
    """Two targets, one per US fiscal year (October-September): the fit table has both, the
    fiscal one summing the model's weeks from October of the year before."""
    deaths = tmp_path / "deaths.csv"
    deaths.write_text("year,deaths\n2016,3000\n")
    seized = tmp_path / "seized.csv"
    seized.write_text("fiscal_year,kg\n2016,100\n2017,100\n")
    block = {"targets": [
        {"file": str(deaths), "column": "deaths", "metric": "overdose_deaths",
         "years": [2016, 2016]},
        {"file": str(seized), "column": "kg", "metric": "fentanyl_seized_kg", "years": [2017, 2017],
         "period": "fiscal"}],
        "free": [GOOD_FREE]}
    out = tmp_path / "fit"
    assert _calibrate(scenario_file(calibration=block, weeks=2), out) == 0
    table = pd.read_csv(out / "fit.csv")
    assert list(zip(table["metric"], table["period"], table["year"], strict=True)) == [
        ("overdose_deaths", "calendar", 2016), ("fentanyl_seized_kg", "fiscal", 2017)]


def test_a_fiscal_year_runs_from_october_to_september():
    weeks = pd.DataFrame({"date": pd.date_range("2016-09-26", periods=54, freq="7D"),
                          "kg": 1.0})
    by_fiscal_year = annual(weeks, "kg", period="fiscal")
    assert by_fiscal_year.to_dict() == {2016: 1.0, 2017: 52.0, 2018: 1.0}
    assert annual(weeks, "kg").to_dict() == {2016: 14.0, 2017: 40.0}
