"""Scenario files: merging with `extends`, and clear errors (file, line, key) for bad input."""

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import ScenarioError, load_scenario
from sim.params import TABLE
from sim.policies import POLICY_TYPES
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def write(tmp_path, text, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_baseline_loads_with_the_history():
    scenario = load_scenario(BASELINE)
    assert scenario.start == dt.date(2016, 1, 4) and scenario.weeks == 782
    types = {p.type_name for p in scenario.policies}
    assert {"class_scheduling", "sanctions", "diplomatic_shock", "bilateral_deal"} <= types
    china_2019 = next(p for p in scenario.policies if p.id == "china_fentanyl_class")
    assert china_2019.start_week == (dt.date(2019, 5, 1) - dt.date(2016, 1, 4)).days // 7


def test_child_merges_parameters_key_by_key_and_policies_by_id(tmp_path):
    child = write(tmp_path, f"""
extends: {BASELINE}
name: child
parameters:
  cartels: {{learning_rate: 0.3}}
policies:
  - id: taiwan_freeze
    enabled: false
  - id: woodside_deal
    type: bilateral_deal
    start: 2024-06
    cooperation_boost: 0.1
  - type: sanctions
    start: 2025-01
    firms: 32
""")
    scenario = load_scenario(child)
    assert scenario.parameters["cartels"]["learning_rate"] == 0.3
    assert scenario.parameters["cartels"]["risk_aversion"] == TABLE["cartels"]["risk_aversion"].value
    ids = [p.id for p in scenario.policies]
    assert "taiwan_freeze" not in ids
    deal = next(p for p in scenario.policies if p.id == "woodside_deal")
    assert deal.start == dt.date(2024, 6, 1) and deal.cooperation_boost == 0.1
    assert ids.count("woodside_deal") == 1
    assert any(p.type_name == "sanctions" and p.firms == 32 and p.start.year == 2025
               for p in scenario.policies)
    assert scenario.sha256 != load_scenario(BASELINE).sha256


def test_a_child_is_named_by_its_own_file_not_its_parent(tmp_path):
    child = write(tmp_path, f"extends: {BASELINE}\nweeks: 10\n", name="my_variant.yaml")
    scenario = load_scenario(child)
    assert scenario.name == "my_variant" and scenario.weeks == 10


def test_a_policy_over_before_the_run_starts_is_dropped(tmp_path):
    scenario = load_scenario(write(tmp_path, """
name: late_start
start: 2024-01-01
weeks: 10
policies:
  - type: class_scheduling
    regulator: us
    chemicals: [npp]
    start: 2010-01
    end: 2012-01
"""))
    assert scenario.policies == ()


def test_years_and_weeks_and_a_policy_window(tmp_path):
    scenario = load_scenario(write(tmp_path, """
name: short
start: 2020-01-01
years: 2
policies:
  - type: diplomatic_shock
    start: 2020-03-15
    end: 2020-06
"""))
    assert scenario.start == dt.date(2019, 12, 30)          # the week's Monday
    assert scenario.weeks == 104
    shock = scenario.policies[0]
    assert shock.start_week == 10 and shock.end_week == 22   # Sun 15 March is in week 10
    assert shock.active(10) and shock.active(21) and not shock.active(22) and not shock.active(9)


BAD_INPUTS = [
    ("malformed", "name: x\npolicies: [\n  - type: sanctions\n", "malformed YAML"),
    ("unknown key", "name: x\nparamters: {}\n", "paramters: unknown key"),
    ("did you mean", "name: x\nparameters:\n  cartels: {learning_rat: 0.1}\n",
     "Did you mean 'learning_rate'"),
    ("wrong type", "name: x\nparameters:\n  users: {naloxone_coverage: lots}\n",
     "parameters.users.naloxone_coverage: expected a number"),
    ("out of range", "name: x\nparameters:\n  users: {naloxone_coverage: 1.5}\n",
     "out of range [0.0, 1.0]"),
    ("date out of range", "name: x\npolicies:\n  - type: sanctions\n    start: 2150-01\n",
     "out of range"),
    ("bad date", "name: x\nstart: 2016-13-01\n", "expected a date"),
    ("not a number", "name: x\nparameters:\n  users: {overdose_fatality: .nan}\n",
     "expected a finite number"),
    ("bad name", "name: a/b\n", "expected a name"),
    ("end before start", "name: x\npolicies:\n  - type: diplomatic_shock\n    start: 2020-05\n"
     "    end: 2020-01\n", "is not after start"),
    ("unknown policy", "name: x\npolicies:\n  - type: sanctoins\n    start: 2020-01\n",
     "Did you mean 'sanctions'"),
    ("policy field", "name: x\npolicies:\n  - type: sanctions\n    start: 2020-01\n"
     "    firm: 3\n", "Did you mean 'firms'"),
    ("chemical", "name: x\npolicies:\n  - type: class_scheduling\n    start: 2020-01\n"
     "    chemicals: [npq]\n", "unknown value 'npq'"),
    ("missing extends", "extends: nowhere.yaml\nname: x\n", "file 'nowhere.yaml' not found"),
    ("network override", "name: x\nnetwork:\n  customs_posts:\n    san_diego: {inspections: 5}\n",
     "Did you mean 'inspections_per_week'"),
]


def test_a_network_file_that_cannot_run_fails_validation(tmp_path):
    import yaml

    world = yaml.safe_load((ROOT / "sim" / "data" / "world.yaml").read_text())
    del world["edges"][0]["transit_weeks"]
    (tmp_path / "broken_world.yaml").write_text(yaml.safe_dump(world))
    path = write(tmp_path, "name: x\nnetwork: {file: broken_world.yaml}\n")
    result = cli("validate", path)
    assert result.returncode == 2
    assert re.search(r"broken_world.yaml:\d+: edges.0: missing transit_weeks", result.stderr)


@pytest.mark.parametrize("label,text,expected", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_names_file_line_and_key(tmp_path, label, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert expected in message
    assert message.startswith(str(path))
    if label not in ("malformed", "missing extends"):
        line = int(message.split(":")[1])
        key = message.split(": ")[1].split(".")[-1].split(" ")[0]
        assert key.split(".")[0] in text.splitlines()[line - 1] or label == "end before start"


CLI_CASES = [b for b in BAD_INPUTS if b[0] in ("malformed", "unknown key", "did you mean",
                                                "wrong type", "out of range",
                                                "date out of range", "missing extends")]


@pytest.mark.parametrize("label,text,expected", CLI_CASES, ids=[b[0] for b in CLI_CASES])
def test_cli_exits_2_with_the_message_and_writes_nothing(tmp_path, label, text, expected):
    path = write(tmp_path, text)
    for command in (["validate", path], [path, "--out", tmp_path / "out"]):
        result = cli(*command)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and str(path) in result.stderr
        assert not (tmp_path / "out").exists()


def test_cli_rejects_bad_arguments_with_status_2(tmp_path):
    assert cli(TINY, "--weeks", "zero").returncode == 2
    assert cli(TINY, "--weeks", "0").returncode == 2
    assert cli(tmp_path / "missing.yaml").returncode == 2


def test_every_policy_type_documents_what_it_changes():
    for name, cls in POLICY_TYPES.items():
        assert "changes" in (cls.__doc__ or "").lower(), name
