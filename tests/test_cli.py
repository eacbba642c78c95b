"""Running a scenario from the command line: the output contract, and never losing results."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.output import atomic_folder
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ["step", "date", "overdose_deaths", "fentanyl_to_us_kg", "fentanyl_seized_kg",
            "fentanyl_seized_mx_kg", "precursor_shipped_kg", "precursor_seized_kg",
            "retail_price_usd_per_mg", "active_precursor_makers", "unscheduled_precursor_share",
            "cartel_revenue_usd", "china_cooperation", "users_active", "users_in_treatment"]
ROUTES = ["san_diego", "nogales", "el_paso", "laredo", "between_ports", "mail_express"]


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    """`python run.py scenarios/baseline.yaml --weeks 60 --seed 7 --out DIR`, as a user runs it."""
    out = tmp_path_factory.mktemp("cli") / "try"
    result = subprocess.run([sys.executable, "run.py", "scenarios/baseline.yaml", "--seed", "7",
                             "--weeks", "60", "--out", str(out)], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out, result


def test_timeseries_has_the_contract_columns_one_row_a_week(baseline_run):
    out, _ = baseline_run
    df = pd.read_csv(out / "timeseries.csv")
    assert list(df.columns[: len(CONTRACT)]) == CONTRACT
    assert [f"route_share_{r}" for r in ROUTES] == [c for c in df.columns
                                                    if c.startswith("route_share_")]
    assert len(df) == 60 and list(df["step"]) == list(range(60))
    dates = pd.to_datetime(df["date"])
    assert (dates.dt.dayofweek == 0).all() and df["date"].iloc[0] == "2016-01-04"
    assert (dates.diff().dropna() == pd.Timedelta(days=7)).all()
    assert df["users_active"].iloc[0] > 1e6          # people, not agents
    assert 100 < df["overdose_deaths"].mean() < 5000   # people a week


def test_summary_records_how_to_reproduce_the_run(baseline_run):
    out, _ = baseline_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "baseline" and summary["seed"] == 7 and summary["weeks"] == 60
    assert re.fullmatch(r"[0-9a-f]{64}", summary["scenario_sha256"])
    assert summary["package_version"] and summary["run_time_s"] > 0
    df = pd.read_csv(out / "timeseries.csv")
    assert summary["totals"]["overdose_deaths"] == pytest.approx(df["overdose_deaths"].sum())
    assert summary["totals"]["china_cooperation"] == pytest.approx(df["china_cooperation"].mean())
    assert (out / "scenario_resolved.yaml").exists()


def test_plots_and_terminal_output(baseline_run):
    out, result = baseline_run
    for name in ("overview.png", "route_shares.png", "precursor_shares.png",
                 "inspection_shares.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert f"results: {out}" in result.stdout
    assert "overdose_deaths" in result.stdout          # the totals table
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())  # no temp folders left


def test_same_run_twice_gives_the_same_timeseries(baseline_run, tmp_path):
    out, _ = baseline_run
    again = tmp_path / "again"
    assert main([str(ROOT / "scenarios" / "baseline.yaml"), "--seed", "7", "--weeks", "60",
                 "--out", str(again), "--no-plots", "--quiet"]) == 0
    assert (again / "timeseries.csv").read_text() == (out / "timeseries.csv").read_text()


def test_existing_out_is_refused_and_force_replaces_only_a_results_folder(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    tiny = [str(TINY), "--weeks", "3", "--quiet", "--no-plots", "--out"]
    assert main([*tiny, str(out)]) == 2
    assert "use --force" in capsys.readouterr().err
    assert main([*tiny, str(out), "--force"]) == 2                 # not made by this program
    assert "not a results folder made by this program" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"
    results = tmp_path / "results"
    assert main([*tiny, str(results)]) == 0
    (results / "extra.txt").write_text("made since")
    assert main([*tiny, str(results), "--force"]) == 0            # a folder it made: replaced
    assert not (results / "extra.txt").exists() and (results / "timeseries.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "results"]


def test_default_folder_is_new_per_run(tmp_path):
    env = {**os.environ}
    for _ in range(2):
        result = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(TINY), "--weeks",
                                 "2", "--no-plots", "--quiet"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    runs = sorted((tmp_path / "results" / "tiny").iterdir())
    assert len(runs) == 2 and all((r / "timeseries.csv").exists() for r in runs)


def test_an_interrupted_run_leaves_nothing_behind(tmp_path):
    out = tmp_path / "partial"
    with pytest.raises(KeyboardInterrupt), atomic_folder(out, force=False) as temp:
        (temp / "timeseries.csv").write_text("half")
        raise KeyboardInterrupt
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_folder(out, force=False) as temp:
        (temp / "old.csv").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(out, force=True) as temp:
        raise RuntimeError("crash")
    assert (out / "old.csv").read_text() == "old"   # --force replaces only on success
    assert [p.name for p in tmp_path.iterdir()] == ["partial"]


def test_every_command_loads_its_modules_then_turns_garbage_collection_back_on(capsys):
    """`run.py` starts with garbage collection off (module loading); every command names the
    modules it runs on, they import, and collection is on again before the command runs."""
    import gc
    import importlib

    from sim.cli import COMMAND_FUNCTIONS, COMMAND_MODULES, COMMANDS

    assert set(COMMAND_MODULES) == set(COMMAND_FUNCTIONS) == set(COMMANDS)
    for modules in COMMAND_MODULES.values():
        for module in modules:
            importlib.import_module(module)
    gc.disable()
    try:
        assert main(["validate", "scenarios/baseline.yaml"]) == 0
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()   # this test process's objects go back to being collected
        gc.enable()
    script = ("import gc, runpy, sys\nsys.argv = ['run.py', 'validate', 'scenarios/baseline.yaml']\n"
              "try:\n    runpy.run_path('run.py', run_name='__main__')\nexcept SystemExit as end:\n"
              "    print(end.code, gc.isenabled(), gc.get_stats()[2]['collections'], "
              "gc.get_freeze_count())")
    started = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    code, enabled, full_passes, frozen = started.stdout.split()[-4:]
    assert (code, enabled) == ("0", "True"), started.stderr
    assert full_passes == "0"   # none while the modules loaded
    assert int(frozen) > 100_000   # what loaded: no collection goes through it again
