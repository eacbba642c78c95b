"""Paired ensembles: statistics, identical results on every backend, resume, bad input."""

import os
import pickle
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.compare import DEFAULT_METRICS, Window, comparison_table, mean_ci
from sim.ensemble import run
from sim.folders import STOP_AT
from sim.headline import headlines, rounded
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
WEEKS = "30"


def cli(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The tiny scenario and a child with a customs post that catches most loads."""
    folder = tmp_path_factory.mktemp("pair")
    child = folder / "tiny_surge.yaml"
    child.write_text(f"extends: {TINY}\nname: tiny_surge\nnetwork:\n  customs_posts:\n"
                     "    entry_a: {inspections_per_week: 1000000, detection_prob: 0.7}\n")
    return folder, [TINY, child]


def test_paired_difference_is_the_mean_of_per_replicate_differences_by_hand():
    def frame(values):
        return pd.DataFrame({"date": ["2016-01-04", "2016-01-11"],
                             "overdose_deaths": values, "china_cooperation": [0.5, 0.5]})

    frames = {"a": [frame([10, 20]), frame([30, 40]), frame([5, 5])],
              "b": [frame([12, 20]), frame([31, 44]), frame([5, 15])]}
    table = comparison_table(frames, ["overdose_deaths"], [Window("horizon")])
    b = table[table["scenario"] == "b"].iloc[0]
    # totals a: 30, 70, 10; b: 32, 75, 20; per-replicate differences 2, 5, 10
    assert b["diff_mean"] == pytest.approx((2 + 5 + 10) / 3)
    assert b["diff_median"] == pytest.approx(5)
    assert b["median"] == pytest.approx(32)
    a = table[table["scenario"] == "a"].iloc[0]
    assert a["diff_mean"] == 0 and a["diff_ci95_low"] == a["diff_ci95_high"] == 0


def test_headline_says_deaths_averted_in_words_and_marks_an_interval_across_zero():
    def frame(deaths):
        return pd.DataFrame({"date": ["2016-01-04"], "overdose_deaths": [deaths]})

    base = [frame(v) for v in (100_000, 120_000, 110_000, 130_000)]
    frames = {"base": base,
              "helps": [frame(v) for v in (90_000, 110_000, 101_000, 115_000)],   # 9-15k fewer
              "unclear": [frame(v) for v in (60_000, 150_000, 80_000, 160_000)]}
    table = comparison_table(frames, ["overdose_deaths"], [Window("horizon")])
    helps, unclear = headlines(table)
    assert helps.mean == pytest.approx(11_000) and helps.median == pytest.approx(10_000)
    assert helps.prob_lower == 1 and helps.robust and helps.low < helps.mean < helps.high
    assert helps.words().startswith("helps averts 11,000 deaths on average against base "
                                    "(horizon), 95% interval of the mean ")
    assert "median 10,000 averted" in helps.words()
    assert "lower in 4 of 4 paired replicates (100%)" in helps.words()
    assert "not robust" not in helps.words()
    assert unclear.low < 0 < unclear.high and not unclear.robust
    assert unclear.words().endswith("not robust: the interval crosses zero")
    assert "2 of 4" in unclear.words()
    assert [rounded(v) for v in (147_213, -1_184.2, 12.34, 0.5)] == ["147,000", "-1,180", "12.3",
                                                                    "0.5"]
    single = {name: runs[:1] for name, runs in frames.items()}
    (one, _) = headlines(comparison_table(single, ["overdose_deaths"], [Window("horizon")]))
    assert one.mean == one.median == 10_000 and not one.robust and "one replicate" in one.words()


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG header."""
    header = Path(path).read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def test_confidence_interval_widens_as_replicates_fall():
    values = np.random.default_rng(3).normal(10, 2, 40)
    widths = [np.subtract(*mean_ci(values[:n])[::-1]) for n in (40, 20, 10, 5, 3)]
    assert all(a < b for a, b in zip(widths, widths[1:], strict=False))
    low, high = mean_ci(values)
    assert low < values.mean() < high


def test_confidence_interval_is_scipy_stats_student_t_interval_bit_for_bit():
    """`mean_ci` computes what scipy.stats.t.ppf and scipy.stats.sem give (without importing
    scipy.stats), equal to the last bit over sample sizes, scales and levels."""
    from scipy import stats

    g = np.random.default_rng(4)
    for _ in range(500):
        values = g.normal(g.normal() * 1e3, 10 ** g.uniform(-3, 4), int(g.integers(2, 200)))
        for level in (0.95, 0.9, 0.5):
            half = stats.t.ppf(0.5 + level / 2, values.size - 1) * stats.sem(values)
            mean = float(np.mean(values))
            assert mean_ci(values, level) == (mean - half, mean + half)


def compare_csv(out):
    return pd.read_csv(out / "comparison.csv")


def test_same_numbers_with_one_or_two_workers_and_a_dask_cluster(pair, tmp_path):
    _, files = pair
    base = ["compare", *files, "--replicates", "2", "--weeks", WEEKS, "--quiet"]
    one = cli(*base, "--workers", "1", "--out", tmp_path / "one")
    two = cli(*base, "--workers", "2", "--out", tmp_path / "two")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    with dask_cluster() as address:
        dask = cli(*base, "--scheduler", address, "--out", tmp_path / "dask")
    assert dask.returncode == 0, dask.stderr
    reference = compare_csv(tmp_path / "one")
    for other in ("two", "dask"):
        pd.testing.assert_frame_equal(reference, compare_csv(tmp_path / other), check_exact=True)
    surge = reference[(reference["scenario"] == "tiny_surge")
                      & (reference["metric"] == "fentanyl_seized_kg")]
    assert surge["diff_median"].iloc[0] > 0
    report = (tmp_path / "one" / "report.md").read_text()
    assert "tiny_surge" in report and "Seeds: 7, 8" in report
    # the report opens with the headline, warns that 2 replicates are too few, and says what
    # the intervals include; the terminal ends with the same headline
    sections = [line for line in report.splitlines() if line.startswith("## ")]
    assert sections[:2] == ["## Headline: deaths averted against tiny, horizon",
                            "## What the intervals include"]
    assert "> **Warning.** Only 2 replicates" in report
    assert "| tiny_surge | " in report.split("## What")[0]
    assert "Deaths averted against tiny, horizon" in one.stdout
    assert "tiny_surge averts" in one.stdout or "tiny_surge adds" in one.stdout
    html = (tmp_path / "one" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 7
    figures = list((tmp_path / "one" / "figures").glob("*.png"))
    assert all(png_size(p)[0] <= 1600 for p in figures)
    assert (tmp_path / "one" / "figures" / "differences_horizon_overdose_deaths.png").exists()


class dask_cluster:
    """A real scheduler and worker on 127.0.0.1, as separate processes."""

    def __enter__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        address = f"tcp://127.0.0.1:{port}"
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
        self.procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                        "--host", "127.0.0.1", "--port", str(port),
                                        "--no-dashboard"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        self.procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                            address, "--host", "127.0.0.1", "--nworkers", "2",
                                            "--nthreads", "1", "--no-dashboard"], cwd=ROOT,
                                           env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        return address

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            proc.terminate()
            proc.wait(timeout=30)


def stopped(args, point, signal_name, **popen):
    """Run `run.py ARGS` until it reaches `point` (FENTANYL_SIM_STOP_AT, sim.folders.stop_at):
    a chosen point, not a moment, so the test does not depend on how fast the runs are."""
    env = {**os.environ, STOP_AT: f"{point}:{signal_name}"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, **popen)


def kept_runs(out):
    return sorted(p.name for p in (out / "runs").glob("*.npz"))


def test_resume_after_a_killed_run_gives_the_same_table(pair, tmp_path):
    _, files = pair
    args = ["compare", *files, "--replicates", "3", "--weeks", WEEKS, "--quiet", "--workers", "1"]
    full = cli(*args, "--out", tmp_path / "full")
    assert full.returncode == 0, full.stderr
    out = tmp_path / "killed"
    killed = stopped([*args, "--out", out], "runs:2", "SIGKILL")
    assert killed.returncode == -signal.SIGKILL
    assert len(kept_runs(out)) == 2 and not (out / "comparison.csv").exists()
    again = cli(*args, "--out", out)
    assert again.returncode == 2 and "--resume" in again.stderr   # never overwritten silently
    resumed = cli(*args, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len(kept_runs(out)) == 6
    pd.testing.assert_frame_equal(compare_csv(tmp_path / "full"), compare_csv(out),
                                  check_exact=True)


@pytest.mark.parametrize("signal_name,status", [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupt_keeps_finished_runs_and_writes_no_report(pair, tmp_path, signal_name, status):
    _, files = pair
    out = tmp_path / "stopped"
    result = stopped(["compare", *files, "--replicates", "4", "--weeks", WEEKS, "--workers", "1",
                      "--quiet", "--out", out], "runs:1", signal_name,
                     # a shell's background job ignores SIGINT, and children inherit it
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert result.returncode == status and "--resume" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(kept_runs(out)) == 1 and not (out / "report.md").exists()
    assert not list(out.glob(".report*"))


def test_sweep_runs_every_combination_with_replicates(tmp_path):
    out = tmp_path / "sweep"
    result = cli("sweep", TINY, "--set", "customs.capacity_multiplier=1,2",
                 "--set", "cartels.learning_rate=0.1,0.3,0.5", "--replicates", "2",
                 "--weeks", "10", "--workers", "2", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 2 * 3 * 2
    assert {"customs.capacity_multiplier", "cartels.learning_rate", "seed",
            "overdose_deaths"} <= set(table.columns)
    assert sorted(table["seed"].unique()) == [7, 8]
    # two parameters: a heat map per metric (each cell's median), slide-sized
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        f"{m}.png" for m in DEFAULT_METRICS)
    assert all(png_size(p)[0] <= 1600 for p in (out / "figures").iterdir())


BAD = [
    (["compare"], "at least one scenario"),
    (["compare", TINY, "--metrics", "overdose_death"], "Did you mean 'overdose_deaths'"),
    (["sweep", TINY, "--set", "cartels.learning_rat=0.1"], "Did you mean 'cartels.learning_rate'"),
    (["sweep", TINY, "--set", "cartels.learning_rate=fast"], "expected a number"),
    (["compare", TINY, ROOT / "scenarios" / "baseline.yaml"], "mismatched horizons"),
    (["compare", TINY, "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["compare", TINY, "--window", "2030-01:2030-12"], "outside the run"),
    (["compare", TINY, "--window", "2016-01:2016-13"], "expected YYYY-MM:YYYY-MM"),
    (["sweep", TINY, "--set", "cartels.learning_rate=0.1,0.1"], "listed twice"),
    (["compare", TINY, "--scheduler", "tcp://[::1"], "--scheduler: 'tcp://[::1' is not a "
                                                     "scheduler address"),
    (["sweep", TINY, "--set", "cartels.learning_rate=0.1", "--scheduler", "127.0.0.1"],
     "is not a scheduler address"),
    (["compare", TINY, "--weeks", "9", "--window", "2016-03:2016-03"], "holds no week of the run"),
    (["compare", TINY, "--seed", str(2**63 - 2), "--replicates", "3"],
     "pass the largest seed"),
    (["compare", TINY, "--weeks", "5000"], "run past 2100-12-31"),
    (["compare", TINY, "--weeks", "1000000000"], "expected 1 to"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_exits_2_and_leaves_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    result = cli(*args, "--out", out, "--quiet")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not out.exists()


def test_one_scenario_gives_intervals_without_differences(tmp_path):
    out = tmp_path / "single"
    result = cli("compare", TINY, "--replicates", "2", "--weeks", "8", "--workers", "1",
                 "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    table = compare_csv(out)
    assert set(table["scenario"]) == {"tiny"} and (table["diff_mean"] == 0).all()
    assert not list((out / "figures").glob("differences*"))


def test_python_api_run_is_picklable_and_matches_the_cli(tmp_path):
    restored = pickle.loads(pickle.dumps(run))
    result = restored(str(TINY), 7, weeks=12)
    assert result.seed == 7 and len(result.timeseries) == 12
    assert cli(TINY, "--weeks", "12", "--out", tmp_path / "r", "--no-plots",
               "--quiet").returncode == 0
    csv = pd.read_csv(tmp_path / "r" / "timeseries.csv")
    assert np.allclose(csv["overdose_deaths"], result.timeseries["overdose_deaths"])
    assert result.totals["overdose_deaths"] == pytest.approx(csv["overdose_deaths"].sum())


def test_figures_shared_out_between_forked_processes(tmp_path):
    """`draw_shared` draws every job's file whatever the number of processes, returns the paths
    in job order, and a job failing in a forked process fails the whole call."""
    from sim.plots import draw_shared

    jobs = [(tmp_path / f"{i}.txt", lambda path, i=i: path.write_text(str(i))) for i in range(5)]
    assert draw_shared(jobs, 3) == [path for path, _ in jobs]
    assert [path.read_text() for path, _ in jobs] == [str(i) for i in range(5)]

    def fail(path):
        raise ValueError(f"cannot draw {path.name}")

    with pytest.raises(RuntimeError, match="forked process"):
        draw_shared([(tmp_path / "a.txt", lambda path: path.write_text("a")),
                     (tmp_path / "b.txt", fail)], 2)
