"""The documentation keeps up with the code: every parameter and policy type is described."""

from pathlib import Path

from sim.params import rows
from sim.policies import POLICY_TYPES

ROOT = Path(__file__).resolve().parents[1]


def test_odd_lists_every_parameter_with_unit_and_source():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    missing = [path for path, _ in rows() if f"`{path}`" not in odd]
    assert missing == []
    for path, param in rows():
        assert param.unit and param.source, path


def test_every_policy_type_is_documented():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    scenarios = (ROOT / "docs" / "scenarios.md").read_text()
    for name in POLICY_TYPES:
        assert f"`{name}`" in odd and f"`{name}`" in scenarios, name


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()[:12]
    commands = [line.split("#")[0].strip() for line in lines if line.startswith("make ")]
    assert commands == ["make run", "make test"]


def test_every_scenario_in_the_library_says_what_it_asks():
    from sim.config import load_scenario

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        assert len(scenario.description.split()) >= 15, path.name
