"""The public API (docs/api.md): shipped scenarios, overrides refused with the messages of the
command line, Result, studies without folders, the Mesa-native model, sim.exploration, the
executed tutorial, and a wheel installed outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import mesa
import pandas as pd
import pytest

import sim
from sim import config
from sim.cli import main
from sim.exploration import ema_model, salib_problem
from sim.metrics import CORE
from sim.params import TABLE
from tests.conftest import ROOT, TINY


@pytest.fixture(scope="module")
def shipped():
    return sim.load_scenario("classroom_small")


# key, value as the API takes it, text as --set takes it
BAD_OVERRIDES = [
    ("users.naloxone_coverag", 0.5, "0.5"),
    ("users.naloxone_coverage", 1.5, "1.5"),
    ("users.agents", 1500.5, "1500.5"),
    ("cartels.learning_rate", "fast", "fast"),
    ("policies.ofac_april_2023.firms", 2.5, "2.5"),
    ("policies.ofac_april_2023.firm", 2, "2"),
    ("policies.ofac_aprl_2023.firms", 2, "2"),
    ("policies.ofac_april_2023.start", "2025-13", "2025-13"),
    ("network.customs_posts.san_diegoo.inspections_per_week", 3, "3"),
    ("network.customs_posts.san_diego.detection_prob", 2, "2"),
]


@pytest.mark.parametrize("key,value,text", BAD_OVERRIDES, ids=[k for k, _, _ in BAD_OVERRIDES])
def test_every_override_the_cli_refuses_the_api_refuses_with_the_same_message(
        shipped, key, value, text, tmp_path, capsys):
    assert main(["run", str(shipped.file), "--set", f"{key}={text}", "--weeks", "1",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 2
    cli_message = capsys.readouterr().err.strip()
    with pytest.raises(sim.ScenarioError) as refused:
        shipped.with_overrides({key: value})
    assert cli_message.startswith(f"error: --set: {key.split('.', 2)[0]}")
    assert str(refused.value).startswith(f"overrides: {key.split('.', 2)[0]}")
    assert cli_message.removeprefix("error: --set: ") == str(refused.value).removeprefix(
        "overrides: ")
    assert not (tmp_path / "out").exists()


def test_a_file_and_an_override_get_the_same_message(scenario_file):
    path = scenario_file(parameters={"users": {"naloxone_coverage": 1.5}})
    with pytest.raises(sim.ScenarioError) as from_file:
        sim.load_scenario(path)
    with pytest.raises(sim.ScenarioError) as from_code:
        sim.load_scenario(TINY).with_overrides({"users.naloxone_coverage": 1.5})
    assert str(from_file.value).endswith("users.naloxone_coverage: 1.5 is out of range [0.0, 1.0]")
    assert str(from_code.value) == ("overrides: users.naloxone_coverage: 1.5 is out of range "
                                    "[0.0, 1.0]")


def test_a_shipped_name_loads_the_repository_file_and_a_wrong_name_is_refused_by_name():
    assert sim.load_scenario("baseline").sha256 == sim.load_scenario(
        ROOT / "scenarios" / "baseline.yaml").sha256
    with pytest.raises(sim.ScenarioError, match="Did you mean 'baseline'"):
        sim.load_scenario("baselin")


def test_policy_and_network_overrides_change_the_scenario(shipped):
    changed = shipped.with_overrides({
        "policies.ofac_april_2023.firms": 64, "policies.woodside_deal.enabled": False,
        "network.customs_posts.san_diego.inspections_per_week": 30000})
    firms = {p.id: p for p in changed.policies}["ofac_april_2023"].firms
    posts = {p["name"]: p for a in changed.world["customs_agencies"] for p in a["posts"]}
    assert firms == 64 and "woodside_deal" not in {p.id for p in changed.policies}
    assert posts["san_diego"]["inspections_per_week"] == 30000
    assert "woodside_deal" in {p.id for p in shipped.policies}           # the original stays
    assert changed.sha256 != shipped.sha256


def test_policy_overrides_check_the_policy_against_the_world_without_reading_it_again(
        scenario_file, monkeypatch):
    scenario = sim.load_scenario(scenario_file(policies=[
        {"id": "surge", "type": "customs_surge", "posts": ["entry_a"], "start": "2017-01"}]))
    reads = []
    read = config.load_world
    monkeypatch.setattr(config, "load_world", lambda *args: reads.append(args) or read(*args))
    changed = scenario.with_overrides({"policies.surge.posts": ["entry_b"],
                                       "policies.*.inspections_multiplier": 3.0})
    surge = {p.id: p for p in changed.policies}["surge"]
    assert (surge.posts, surge.inspections_multiplier) == (["entry_b"], 3.0)
    assert changed.world == scenario.world and not reads
    with pytest.raises(sim.ScenarioError, match="policies.surge.posts: unknown post 'nowhere'"):
        scenario.with_overrides({"policies.surge.posts": ["nowhere"]})
    with pytest.raises(sim.ScenarioError, match="inspections_multiplier: 0.5 is out of range"):
        scenario.with_overrides({"policies.*.inspections_multiplier": 0.5})
    assert not reads
    busier = scenario.with_overrides({"network.customs_posts.entry_b.inspections_per_week": 7})
    assert len(reads) == 1 and busier.world != scenario.world


def test_run_returns_a_dated_timeseries_totals_and_summary():
    result = sim.run(TINY, seed=3, weeks=6, overrides={"users.naloxone_coverage": 0.5})
    frame = result.timeseries
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date"
    assert len(frame) == 6 and frame.index[1] - frame.index[0] == pd.Timedelta(weeks=1)
    assert result.totals["overdose_deaths"] == pytest.approx(frame["overdose_deaths"].sum())
    assert result.summary["seed"] == 3 and result.summary["total_units"]["overdose_deaths"] == "people"
    assert result.scenario.parameters["users"]["naloxone_coverage"] == 0.5


def test_studies_return_tables_and_write_only_into_a_folder_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = sim.compare([TINY, TINY], replicates=2, weeks=4, workers=1, metrics=["overdose_deaths"])
    assert len(table) == 2 and set(table["scenario"]) == {"tiny_0", "tiny_1"}
    grid = sim.sweep(TINY, {"users.naloxone_coverage": [0.2, 0.6]}, replicates=2, weeks=4,
                     workers=1, metrics=["overdose_deaths"])
    assert len(grid) == 4 and sorted(grid["seed"].unique()) == [7, 8]
    assert list(tmp_path.iterdir()) == []
    sim.compare([TINY], replicates=1, weeks=4, workers=1, out=tmp_path / "cmp")
    assert (tmp_path / "cmp" / "comparison.csv").is_file()


def test_the_model_takes_a_name_keyword_overrides_and_stops_at_the_horizon():
    model = sim.FentanylModel(TINY, seed=2, weeks=3, **{"users.naloxone_coverage": 0.5})
    while model.running:
        model.step()
    assert model.steps == 3 and model.params["users"]["naloxone_coverage"] == 0.5
    frame = model.datacollector.get_model_vars_dataframe()
    assert isinstance(model.datacollector, mesa.DataCollector)
    assert list(frame.columns) == ["date", *model.recorder.columns] and len(frame) == 3
    with pytest.raises(sim.ScenarioError, match="users.naloxone_coverag: unknown parameter"):
        sim.FentanylModel(TINY, **{"users.naloxone_coverag": 0.5})


def test_mesa_batch_run_over_two_values_and_two_seeds():
    rows = pd.DataFrame(mesa.batch_run(sim.FentanylModel, parameters={
        "scenario": str(TINY), "users.naloxone_coverage": [0.0, 1.0], "seed": [1, 2],
        "weeks": 5}, display_progress=False))
    assert len(rows) == 4 and set(rows["Step"]) == {4}
    assert {"date", *CORE} <= set(rows.columns)
    assert sorted(zip(rows["users.naloxone_coverage"], rows["seed"], strict=True)) == [
        (0.0, 1), (0.0, 2), (1.0, 1), (1.0, 2)]
    for row in rows.to_dict("records"):
        expected = sim.run(TINY, seed=row["seed"], weeks=5, overrides={
            "users.naloxone_coverage": row["users.naloxone_coverage"]}).timeseries.iloc[-1]
        assert row["overdose_deaths"] == expected["overdose_deaths"]
        assert row["fentanyl_to_us_kg"] == expected["fentanyl_to_us_kg"]


def test_exploration_takes_its_ranges_from_the_parameter_table_and_its_levers_from_policies(
        shipped):
    problem = salib_problem(["users.naloxone_coverage", "cartels.learning_rate"])
    p = TABLE["cartels"]["learning_rate"]
    assert problem["bounds"][1] == [p.low, p.high] and problem["num_vars"] == 2
    model = ema_model(shipped, outcomes=["overdose_deaths"])
    names = {u.name for u in model.uncertainties}
    assert "users.naloxone_coverage" in names and "users.agents" not in names
    assert {"policies.ofac_april_2023.firms", "policies.woodside_deal.enabled"} <= {
        lever.name for lever in model.levers}
    with pytest.raises(sim.ScenarioError, match=r"users.naloxone_coverage: 1.5 is out of range"):
        salib_problem({"users.naloxone_coverage": (0.1, 1.5)})


def test_the_tutorial_runs_at_small_size_and_draws_each_figure(tmp_path):
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import tutorial
    finally:
        sys.path.remove(str(ROOT / "docs"))
    figures = tutorial.main(["--out", str(tmp_path), "--weeks", "6", "--small"])
    assert [f.name for f in figures] == ["1_override.png", "2_compare.png", "3_morris.png",
                                         "4_ema.png", "5_batch_run.png"]
    assert all(f.stat().st_size > 5000 for f in figures)


def test_cli_totals_are_in_their_real_units(tmp_path, capsys):
    assert main(["run", str(TINY), "--weeks", "3", "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    table = capsys.readouterr().out
    deaths = next(line for line in table.splitlines() if line.startswith("overdose_deaths"))
    assert deaths.endswith(" people") and "/week" not in table.split("results:")[0]
    assert "kg pure reaching US retail" in table and "US$\n" in table


def test_demo_without_the_dashboard_prints_the_install_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "solara", None)       # as if not installed
    assert main(["demo"]) == 2
    assert "pip install -e '.[classroom]'" in capsys.readouterr().err


def test_each_lesson_goes_into_a_new_timestamped_folder(tmp_path, monkeypatch):
    import sim.classroom.lessons as lessons

    monkeypatch.chdir(tmp_path)
    written = []

    def write_lesson(number, out, replicates, force):    # as the lesson does, without its runs
        out.mkdir(parents=True)
        written.append(out)
        return out

    monkeypatch.setattr(lessons, "write_lesson", write_lesson)
    assert main(["lesson", "2"]) == 0 and main(["lesson", "2"]) == 0
    assert written[0] != written[1]
    assert all(w.parent == Path("results", "lessons", "lesson2") for w in written)


def test_a_closed_pipe_ends_quietly():
    read, write = os.pipe()
    os.close(read)                                          # the reader is gone before a byte
    try:
        done = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(TINY)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_a_wheel_installed_outside_the_repository_ships_the_scenarios(tmp_path):
    """Build the wheel from a copy of the sources, install it into a fresh venv that sees this
    environment's dependencies (not its editable `sim`), run from another folder."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("sim", "scenarios", "pyproject.toml", "README.md"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"symlinks": True} if copy is shutil.copytree else {}))
    shutil.copytree(ROOT / "data" / "observed", source / "data" / "observed")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, timeout=300)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps",
                    *map(str, (tmp_path / "dist").glob("*.whl"))], check=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    Path(site.strip(), "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import sim\n"
        "assert str(sim.__file__).startswith(sys.argv[1]), sim.__file__\n"
        "r = sim.run(sim.load_scenario('classroom_small'), seed=1, weeks=52)\n"
        "assert len(r.timeseries) == 52 and r.totals['overdose_deaths'] > 0\n"
        "try:\n    sim.load_scenario('classroom_small').with_overrides({'users.agent': 1})\n"
        "except sim.ScenarioError as err:\n    print(err)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(python), "-c", "import sys\n" + script, site.strip()],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("overrides: users.agent: unknown parameter")
    assert "Did you mean 'users.agents'" in done.stdout
