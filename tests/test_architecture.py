"""The shape the model holds to: actors in their own modules and in Mesa's registry, the week
as a list of phases, no import cycles, and random-draw layouts that refuse to overflow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import yaml

from sim.actors.cartels import Cartel
from sim.actors.customs import CustomsAgency
from sim.actors.mail_buyers import MailBuyer
from sim.actors.regulators import ChinaRegulator, NationalRegulator, UNCommission
from sim.cli import main
from sim.kernels import layout
from tests.conftest import DATA, ROOT, TINY

SIM = ROOT / "sim"


def _imports(path: Path) -> set[str]:
    """Every `sim` module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sim"))
    return found


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def test_no_module_of_sim_imports_another_in_a_cycle():
    files = {_module(p): p for p in SIM.rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in files and m != name}
             for name, path in files.items()}
    cycles, state = [], {}

    def visit(name, stack):
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert len(graph) > 30 and cycles == []


def test_validation_is_a_leaf_and_the_model_class_is_a_frame():
    assert _imports(SIM / "validation.py") == set()
    tree = ast.parse((SIM / "model.py").read_text())
    model = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FentanylModel")
    assert model.end_lineno - model.lineno + 1 < 200


def test_every_actor_kind_lives_in_mesas_registry(run_model):
    model = run_model(base=DATA / "small.yaml", weeks=2)
    world = model.scenario.world
    by_type = model.agents_by_type
    with_labs = [c["name"] for c in world["cartels"] if c["lab_region"]]
    assert [c.name for c in by_type[Cartel]] == with_labs
    assert [b.name for b in by_type[MailBuyer]] == ["us_online_buyers"]
    assert [a.name for a in by_type[CustomsAgency]] == [a["name"] for a in
                                                        world["customs_agencies"]]
    assert len(by_type[UNCommission]) == len(by_type[ChinaRegulator]) == 1
    assert {r.name for r in by_type[NationalRegulator]} == {"us_dea", "mexico_cofepris",
                                                           "india_ncb"}
    assert not isinstance(next(iter(by_type[MailBuyer])), Cartel)


def test_profile_reads_the_phases_of_the_week(capsys):
    from sim.model import PHASES

    assert main(["profile", str(TINY), "--weeks", "2", "--set", "users.agents=1000"]) == 0
    out = capsys.readouterr().out
    assert len(PHASES) > 8 and all(f"\n{phase.name} " in out for phase in PHASES)


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT)


def test_more_makers_than_the_draw_layout_holds_are_refused_at_load(scenario_file):
    firms = layout.SETUP_LINK_SPAN // 2 + 1   # x slot_headroom 2: one slot too many
    path = scenario_file(parameters={"makers": {"firms": firms}})
    result = _validate(path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:" in result.stderr and "makers.firms" in result.stderr
    assert "SETUP_LINK_SPAN" in result.stderr
    assert _validate(scenario_file(parameters={"makers": {"firms": firms - 1}})).returncode == 0


def test_a_route_through_more_posts_than_the_draw_layout_holds_is_refused_at_load(
        scenario_file, tmp_path):
    world = yaml.safe_load((DATA / "tiny_world.yaml").read_text())
    hops = [f"mx_stop_{i}" for i in range(layout.MAX_POSTS_PER_ROUTE)]
    world["nodes"] += [{"name": h, "kind": "transit", "country": "mexico"} for h in hops]
    world["edges"] = [e for e in world["edges"] if e["to"] != "mx_lab"] + [
        {"from": a, "to": b, "mode": "domestic", "transit_weeks": 0, "cost_usd_per_kg": 1}
        for a, b in zip(["mx_port", *hops], [*hops, "mx_lab"], strict=True)]
    mexico = next(a for a in world["customs_agencies"] if a["country"] == "mexico")
    mexico["posts"] += [{"name": h, "traffic_per_week": 1000, "inspections_per_week": 10,
                         "detection_prob": 0.5, "intel": 0.0} for h in hops]
    network = tmp_path / "long_world.yaml"
    network.write_text(yaml.safe_dump(world, sort_keys=False))
    result = _validate(scenario_file(network={"file": str(network)}))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(network) in result.stderr and "MAX_POSTS_PER_ROUTE" in result.stderr


def test_a_validated_scenario_is_frozen_and_overrides_make_a_new_one():
    from sim.config import load_scenario
    from sim.validation import ScenarioError

    scenario = load_scenario(TINY)
    for change in (lambda: scenario.parameters["users"].update(agents=5),
                   lambda: scenario.world["cartels"][0].__setitem__("labs", 0),
                   lambda: scenario.resolved.pop("seed")):
        try:
            change()
        except TypeError as err:
            assert "read-only" in str(err)
        else:
            raise AssertionError("a validated scenario changed in place")
    changed = scenario.with_overrides({"users.naloxone_coverage": 0.6}, seed=3)
    assert changed.parameters["users"]["naloxone_coverage"] == 0.6 and changed.seed == 3
    assert scenario.parameters["users"]["naloxone_coverage"] == 0.35 and scenario.seed == 7
    assert changed.sha256 != scenario.sha256
    for bad, message in (({"users.naloxone_coverag": 0.6}, "did you mean"),
                         ({"users.naloxone_coverage": 1.5}, "out of range"),
                         ({"users.agents": 2.5}, "whole number"),
                         ({"makers.firms": layout.SETUP_LINK_SPAN}, "SETUP_LINK_SPAN")):
        try:
            scenario.with_overrides(bad)
        except ScenarioError as err:
            assert message in str(err).lower() or message in str(err), err
            assert next(iter(bad)).split(".")[1][:6] in str(err)
        else:
            raise AssertionError(f"{bad} was accepted")
