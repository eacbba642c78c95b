"""Issue 22: nothing a user gave us is deleted, no results folder runs code, every bad input gets
a clear error (exit status 2) and nothing half-written is left. docs/reliability.md lists which
test holds the program to which promise."""

import ast
import contextlib
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.config import ScenarioError, load_scenario
from sim.folders import MARKER, STOP_AT, OutputExists, atomic_folder, clean_leftovers, working_folder
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "sim" / "data" / "world.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
QUICK = ["--weeks", "3", "--quiet"]


def cli(*args, env=None, **popen):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, **popen)


def contents(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@contextlib.contextmanager
def hang_guard(seconds=60):
    """Fail instead of hanging (a FIFO read by mistake); generous, not a timing assertion."""
    def expired(*_):
        raise AssertionError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def users_folder(tmp_path):
    """A folder the program did not make, holding a user's file."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.md").write_text("two years of work")
    return folder


# --- never delete what the program did not make --------------------------------------------

FORCE_COMMANDS = {
    "run": [str(TINY), *QUICK, "--no-plots"],
    "compare": ["compare", str(TINY), *QUICK, "--replicates", "1", "--workers", "1"],
    "sweep": ["sweep", str(TINY), "--set", "cartels.learning_rate=0.1", *QUICK,
              "--replicates", "1", "--workers", "1"],
    "calibrate": ["calibrate", str(BASELINE), "--replicates", "1", "--workers", "1",
                  "--lhs-points", "1", "--max-evals", "0", "--quiet"],
    "lesson": ["lesson", "1", "--replicates", "1"],
}


@pytest.mark.parametrize("command", FORCE_COMMANDS)
def test_force_refuses_a_folder_not_made_by_the_program(command, users_folder, capsys):
    before = contents(users_folder)
    assert main([*FORCE_COMMANDS[command], "--out", str(users_folder), "--force"]) == 2
    err = capsys.readouterr().err
    assert f"{users_folder}: not a results folder made by this program" in err
    assert contents(users_folder) == before and list(users_folder.parent.iterdir()) == [
        users_folder]


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "calibrate"])
def test_force_never_replaces_the_current_folder_or_a_parent(command, tmp_path, monkeypatch,
                                                             capsys):
    made = tmp_path / "made"
    assert main([*FORCE_COMMANDS["run"], "--out", str(made)]) == 0   # a results folder
    monkeypatch.chdir(made)
    before = contents(tmp_path)
    for out in (".", "..", str(tmp_path)):
        assert main([*FORCE_COMMANDS[command], "--out", out, "--force"]) == 2
        assert "is the current folder or one of its parents" in capsys.readouterr().err
    assert contents(tmp_path) == before


def test_resume_and_force_use_only_folders_the_program_made(users_folder, tmp_path, capsys):
    before = contents(users_folder)
    assert main([*FORCE_COMMANDS["compare"], "--out", str(users_folder), "--resume"]) == 2
    assert "--resume only uses folders this program made" in capsys.readouterr().err
    link = tmp_path / "link"
    made = tmp_path / "made"
    assert main([*FORCE_COMMANDS["run"], "--out", str(made)]) == 0
    assert main([*FORCE_COMMANDS["compare"], "--out", str(made), "--resume"]) == 2
    assert f"{made}: made by run, not compare" in capsys.readouterr().err
    link.symlink_to(made)
    assert main([*FORCE_COMMANDS["run"], "--out", str(link), "--force"]) == 2   # not a link
    assert contents(users_folder) == before and (made / "timeseries.csv").exists()


def test_a_folder_a_study_is_working_in_is_locked(tmp_path):
    out = tmp_path / "study"
    with working_folder(out, force=False, resume=False, kind="compare"):
        for force, resume in ((False, True), (True, False)):
            with pytest.raises(OutputExists, match="another process is working in it"), \
                    working_folder(out, force=force, resume=resume, kind="compare"):
                pass
        with pytest.raises(OutputExists, match="another process is working in it"), \
                atomic_folder(out, force=True):
            pass
        assert (out / MARKER).is_file()
    with working_folder(out, force=False, resume=True, kind="compare"):   # free again
        pass


# --- atomic results, and nothing left behind ------------------------------------------------

def test_a_folder_that_appeared_during_a_run_is_kept_and_so_are_the_results(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputExists, match="appeared while this run was working") as err, \
            atomic_folder(out, force=False) as temp:
        (temp / "timeseries.csv").write_text("mine")
        out.mkdir()                                        # another process, meanwhile
        (out / "theirs.csv").write_text("theirs")
    assert str(tmp_path / "out-2") in str(err.value)
    assert (out / "theirs.csv").read_text() == "theirs" and len(list(out.iterdir())) == 1
    assert (tmp_path / "out-2" / "timeseries.csv").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out-2"]


def test_two_concurrent_runs_to_one_out_leave_one_complete_result_and_one_clear_error(tmp_path):
    out = tmp_path / "same"
    args = [sys.executable, str(ROOT / "run.py"), str(TINY), "--weeks", "5", "--no-plots",
            "--quiet", "--out", str(out)]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert sorted(code for code, _ in results) == [0, 2], results
    error = next(err for code, err in results if code == 2)
    assert error.startswith(f"error: {out}: ") and "Traceback" not in error
    for folder in [out] + [tmp_path / "same-2"] * ("same-2" in error):   # results kept aside
        assert len(pd.read_csv(folder / "timeseries.csv")) == 5
        assert json.loads((folder / "summary.json").read_text())["weeks"] == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_run_killed_with_sigkill_leaves_nothing_after_the_next_run(tmp_path):
    out = tmp_path / "killed"
    killed = cli(TINY, *QUICK, "--no-plots", "--out", out, env={STOP_AT: "publish:1:SIGKILL"})
    assert killed.returncode == -signal.SIGKILL
    [left] = tmp_path.iterdir()
    assert re.fullmatch(r"\.killed\.partial-\d+", left.name) and not out.exists()
    assert cli(TINY, *QUICK, "--no-plots", "--out", tmp_path / "next").returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["next"]


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    out = tmp_path / "terminated"
    result = cli(TINY, *QUICK, "--no-plots", "--out", out, env={STOP_AT: "publish:1:SIGTERM"})
    assert result.returncode == 143 and "interrupted" in result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


def test_leftovers_are_removed_only_if_the_program_made_them_and_their_process_ended(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    folders = {name: tmp_path / name for name in (
        f".a.partial-{dead}", f".b.old-{dead}", f".c.partial-{os.getpid()}",
        f".users.partial-{dead}", "plain")}
    for name, folder in folders.items():
        folder.mkdir()
        if not name.startswith((".users", "plain")):
            (folder / MARKER).write_text("{}")
    assert sorted(p.name for p in clean_leftovers(tmp_path)) == sorted(
        [f".a.partial-{dead}", f".b.old-{dead}"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".c.partial-{os.getpid()}", f".users.partial-{dead}", "plain"])


# --- no results folder runs code ------------------------------------------------------------

class Payload:
    """Unpickling this would create the file `target`."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A finished compare of two replicates: its folder and its files' bytes."""
    out = tmp_path_factory.mktemp("kept") / "cmp"
    assert main([*FORCE_COMMANDS["compare"], "--replicates", "2", "--out", str(out)]) == 0
    return out, contents(out)


def _damage(runs: Path, how: str, pwned: Path) -> Path:
    first, second = sorted(runs.glob("*.npz"))
    if how == "pickle":
        first.write_bytes(pickle.dumps(Payload(pwned)))
    elif how == "truncated":
        first.write_bytes(first.read_bytes()[:100])
    elif how == "emptied":
        first.write_bytes(b"")
    elif how == "other replicate":
        shutil.copyfile(second, first)
    elif how == "folder":
        first.unlink()
        first.mkdir()
    elif how == "manifest":
        (runs / "manifest.jsonl").write_bytes(pickle.dumps(Payload(pwned)))
        return runs / "manifest.jsonl"
    return first


@pytest.mark.parametrize("how", ["pickle", "truncated", "emptied", "other replicate", "folder",
                                 "manifest"])
def test_a_crafted_run_file_is_refused_on_resume_and_nothing_runs(compared, tmp_path, how,
                                                                   capsys):
    original, files = compared
    out = tmp_path / "cmp"
    shutil.copytree(original, out)
    pwned = tmp_path / "pwned"
    damaged = _damage(out / "runs", how, pwned)
    (out / "runs" / "evil.pkl").write_bytes(pickle.dumps(Payload(pwned)))   # never read
    before = contents(out)
    assert main([*FORCE_COMMANDS["compare"], "--replicates", "2", "--out", str(out),
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {damaged}") and "Traceback" not in err, err
    assert not pwned.exists()
    assert contents(out) == before                     # nothing ran, nothing was rewritten
    assert files["comparison.csv"] == before["comparison.csv"]


def test_nothing_in_the_package_unpickles():
    """No module of sim imports a deserializer that can run code, or calls pandas' read_pickle."""
    unsafe = {"pickle", "cloudpickle", "dill", "joblib", "shelve", "marshal"}
    for path in (ROOT / "sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not unsafe & {n.split(".")[0] for n in names}, (path, names)
            if isinstance(node, ast.Attribute):
                assert node.attr != "read_pickle", path


# --- clear errors for bad input -------------------------------------------------------------

def network_file(tmp_path, change) -> Path:
    """A scenario whose network is world.yaml changed by `change(world)`."""
    world = yaml.safe_load(WORLD.read_text())
    change(world)
    (tmp_path / "world.yaml").write_text(yaml.safe_dump(world, sort_keys=False))
    path = tmp_path / "scenario.yaml"
    path.write_text("name: x\nnetwork: {file: world.yaml}\n")
    return path


def no_route_north(world):
    world["edges"] = [e for e in world["edges"] if e["mode"] not in ("vehicle", "between_ports")
                      and e["from"] not in ("mx_sinaloa", ["mx_sinaloa", "mx_jalisco",
                                                           "mx_michoacan", "mx_tamaulipas"])]


def test_a_network_file_with_a_cartel_with_no_route_north_is_refused_by_validate(tmp_path):
    result = cli("validate", network_file(tmp_path, no_route_north))
    assert result.returncode == 2
    assert re.fullmatch(rf"error: {tmp_path / 'world.yaml'}:\d+: cartels.0: 'sinaloa' has no "
                        r"route north from mx_sinaloa to a US entry \(edges of mode vehicle, "
                        r"between_ports, mail\)\n", result.stderr), result.stderr


def _set(path, value):
    def change(world):
        *parents, last = path
        entry = world
        for key in parents:
            entry = entry[key]
        entry[last] = value
    return change


NETWORK_CASES = [
    ("agency with no posts", _set(("customs_agencies", 0, "posts"), []),
     "customs_agencies.0.posts: expected a non-empty list"),
    ("unknown country", _set(("nodes", 0, "country"), "mars"),
     "nodes.0.country: expected one of china, india, mexico, us, un, got 'mars'"),
    ("labs 1e12", _set(("cartels", 0, "labs"), 1e12), "cartels.0.labs: 1000000000000 is out of"),
    ("negative labs", _set(("cartels", 0, "labs"), -3), "cartels.0.labs: -3 is out of range"),
    ("fractional labs", _set(("cartels", 0, "labs"), 2.5), "expected a whole number"),
    ("negative inspections", _set(("customs_agencies", 0, "posts", 0, "inspections_per_week"),
                                  -5), "posts.0.inspections_per_week: -5.0 is out of range"),
    ("detection_prob 5", _set(("customs_agencies", 0, "posts", 0, "detection_prob"), 5),
     "posts.0.detection_prob: 5.0 is out of range [0, 1]"),
    ("intel text", _set(("customs_agencies", 0, "posts", 0, "intel"), "high"),
     "posts.0.intel: expected a number"),
    ("unknown node", _set(("edges", 0, "to"), "atlantis"), "edges.0.to: unknown node 'atlantis'"),
    ("post not a node", _set(("customs_agencies", 0, "posts", 0, "name"), "atlantis"),
     "posts.0.name: unknown node 'atlantis'"),
    ("lab region of the wrong kind", _set(("cartels", 0, "lab_region"), "cn_hubei"),
     "cartels.0.lab_region: node 'cn_hubei' is a producer_region; expected a lab_region"),
    ("transit too long", _set(("edges", 0, "transit_weeks"), 40), "edges.0.transit_weeks: 40"),
    ("negative cost", _set(("edges", 0, "cost_usd_per_kg"), -1), "edges.0.cost_usd_per_kg: -1.0"),
    ("share above 1", _set(("maker_regions", 0, "share"), 1.5), "maker_regions.0.share: 1.5"),
    ("huge integer", _set(("edges", 0, "transit_weeks"), 10**309), "is out of range"),
    ("duplicate node", lambda w: w["nodes"].append(dict(w["nodes"][0])),
     "'cn_hubei' is listed twice"),
    ("post of two agencies", lambda w: w["customs_agencies"][1]["posts"].append(
        dict(w["customs_agencies"][0]["posts"][0])), "is also a post of china_customs"),
    ("unknown field", _set(("cartels", 0, "lab"), 3), "cartels.0.lab: unknown key"),
    ("missing field", lambda w: w["cartels"][0].pop("armed_share"), "cartels.0: missing "
     "armed_share"),
    ("no china regulator", lambda w: w["regulators"].pop(1), "need a regulator with country: "
     "china"),
    ("no precursor route", lambda w: w["edges"].__setitem__(slice(None), [
        e for e in w["edges"] if e["mode"] not in ("sea", "air", "mail")
        or e["to"] == "mail_express"]), "has no precursor route"),
]


@pytest.mark.parametrize("change,expected", [c[1:] for c in NETWORK_CASES],
                         ids=[c[0] for c in NETWORK_CASES])
def test_network_files_are_checked_like_scenario_parameters(tmp_path, change, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(network_file(tmp_path, change))
    message = str(err.value)
    assert re.match(rf"{tmp_path / 'world.yaml'}:\d+: ", message) and expected in message, message


@pytest.mark.parametrize("override,expected", [
    ("cartels: {sinaloa: {labs: -1}}", "network.cartels.sinaloa.labs: -1 is out of range"),
    ("customs_posts: {san_diego: {detection_prob: 5}}", "detection_prob: 5.0 is out of range"),
    ("customs_posts: {san_diego: {inspections_per_week: -1}}", "-1.0 is out of range"),
    ("maker_regions: {cn_hubei: {share: 1.0e+309}}", "expected a finite number"),
    ("cartels: {atlantis: {labs: 1}}", "network.cartels.atlantis: unknown key"),
])
def test_network_overrides_are_checked_the_same_way(tmp_path, override, expected):
    path = tmp_path / "scenario.yaml"
    path.write_text(f"name: x\nnetwork:\n  {override}\n")
    with pytest.raises(ScenarioError, match=re.escape(expected)):
        load_scenario(path)


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True))


def _extends_chain(folder: Path, depth: int) -> Path:
    for i in range(depth):
        (folder / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n" if i < depth - 1
                                           else "name: end\n")
    return folder / "c0.yaml"


HOSTILE = [
    ("alias bomb", lambda d: BOMB, "values once aliases (*name) are expanded"),
    ("recursive alias", lambda d: "name: x\nparameters: &x [*x]\n",
     "parameters.0: an alias (*name) refers to a value that contains it"),
    ("deep nesting", lambda d: "name: x\nparameters: " + "[" * 500 + "]" * 500 + "\n",
     "nested more than 32 levels deep"),
    ("extends chain 1,500 deep", lambda d: _extends_chain(d, 1500),
     "extends: more than 16 files in a chain of extends"),
    ("extends /dev/zero", lambda d: "extends: /dev/zero\n", "'/dev/zero' is not a regular file"),
    ("extends a FIFO", lambda d: (os.mkfifo(d / "fifo"), "extends: fifo\n")[1],
     "'fifo' is not a regular file"),
    ("network /dev/zero", lambda d: "network: {file: /dev/zero}\n", "not a regular file"),
    ("network FIFO", lambda d: (os.mkfifo(d / "fifo"), "network: {file: fifo}\n")[1],
     "not a regular file"),
    ("latin-1", lambda d: "name: caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9)"),
    ("10**309", lambda d: f"name: x\nseed: {10**309}\n", "seed: 1000000000"),
    ("5,000 digits", lambda d: "name: x\nweeks: 1" + "0" * 5000 + "\n", "malformed YAML"),
    ("type is a list", lambda d: "name: x\npolicies:\n  - type: [sanctions]\n    start: 2020-01\n",
     "policies.0.type: expected a policy type name, got ['sanctions']"),
    ("duplicate key", lambda d: "name: x\nweeks: 10\nseed: 3\nweeks: 20\n",
     ":4: weeks: duplicate key (also at line 2)"),
    ("duplicate key in a flow mapping", lambda d: "name: x\nparameters: {users: {agents: 5, "
     "agents: 6}}\n", "parameters.users.agents: duplicate key (also at line 2)"),
    ("too large", lambda d: "name: x\n" + "#" * 5_000_000 + "\n", "larger than 4,194,304 bytes"),
    ("a list", lambda d: "- 1\n- 2\n", "expected a mapping of scenario keys"),
    ("a key that is a list", lambda d: "name: x\n? [a]\n: 1\n", "expected plain keys"),
]


@pytest.mark.parametrize("make,expected", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_yaml_gets_a_clear_error(tmp_path, make, expected):
    made = make(tmp_path)
    path = made if isinstance(made, Path) else tmp_path / "hostile.yaml"
    if not isinstance(made, Path):
        path.write_bytes(made if isinstance(made, bytes) else made.encode())
    with hang_guard(), pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert expected in str(err.value), str(err.value)


@pytest.mark.parametrize("args,expected", [
    (["--weeks", "1000000000"], "expected 1 to"),
    (["--weeks", "5000"], "weeks (--weeks): 5,000 weeks from 2016-01-04 run past 2100-12-31"),
    (["--seed", str(2**63)], "expected 0 to"),
])
def test_run_bounds_weeks_and_seed(args, expected, tmp_path, capsys):
    with contextlib.suppress(SystemExit):
        assert main([str(TINY), *args, "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert expected in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_label_with_dollar_signs_is_drawn_as_written(tmp_path, capsys):
    child = tmp_path / "taxed.yaml"
    label = r"tax of $\foo$ per kg, $^$"
    child.write_text(yaml.safe_dump({"extends": str(TINY), "name": "taxed", "policies": [
        {"type": "demand_reduction", "start": "2016-02", "label": label}]}))
    out = tmp_path / "cmp"
    assert main(["compare", str(TINY), str(child), "--weeks", "8", "--replicates", "1",
                 "--workers", "1", "--quiet", "--out", str(out)]) == 0, capsys.readouterr().err
    assert label in (out / "report.md").read_text()
    assert main([str(child), "--weeks", "8", "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "overview.png").stat().st_size > 10_000
