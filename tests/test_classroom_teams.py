"""Teams mode without a browser: the game's rules (codes, seats, whose levers), a year a round
through the project's policies, scorecards and the debrief; the server's host checks and its
death with its parent."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sim.classroom.model import REFERENCES, SCENARIO_DIR
from sim.classroom.server import HostError, check_listen
from sim.classroom.teams import TEAMS, Game, Refused, first_week_of


@pytest.fixture(scope="module")
def game():
    return Game(SCENARIO_DIR / "classroom_small.yaml", seed=11, code="K7QP", first_year=2029)


def test_only_the_code_admits_and_a_player_keeps_its_team(game):
    with pytest.raises(Refused, match="code"):
        game.join("outsider", "ABCD", "us")
    assert "outsider" not in game.seats
    assert game.join("ann", " k7qp ", "us") == "us"    # case and spaces forgiven
    game.join("bo", "K7QP", "china")
    game.join("cy", "K7QP", "mexico")
    with pytest.raises(Refused, match="cannot join China"):
        game.join("ann", "K7QP", "china")
    with pytest.raises(Refused, match="No team"):
        game.join("di", "K7QP", "cartels")
    assert game.is_teacher(game.teacher_key) and not game.is_teacher("K7QP")
    assert not game.is_teacher(None)


def test_a_team_moves_only_its_own_levers_within_their_range(game):
    with pytest.raises(Refused, match="belongs to China"):
        game.move("ann", "china_stance", "deal")
    with pytest.raises(Refused, match="belongs to United States"):
        game.move("cy", "naloxone", 0.5)
    with pytest.raises(Refused, match="Join a team"):
        game.move("outsider", "naloxone", 0.5)
    with pytest.raises(Refused, match="not a possible setting"):
        game.move("ann", "naloxone", 5.0)
    with pytest.raises(Refused, match="not a possible setting"):
        game.move("bo", "china_stance", "war")
    assert game.settings["us"]["naloxone"] == 0.0 and game.settings["china"]["china_stance"] == "as now"


def test_a_year_a_round_through_the_policies_until_the_debrief(game):
    """The teams' settings become policies from 1 January; unchanged ones run on, changed
    ones end and restart; the run matches the no-choices reference until the first round."""
    model = game.model
    assert model.week == first_week_of(model, 2029)
    game.move("ann", "naloxone", 0.6)
    game.move("bo", "china_stance", "deal")
    game.move("cy", "mexico_labs", 3.0)
    assert game.advance() == 2029 and game.year == 2030 and model.week == first_week_of(model, 2030)
    added = {p.id: p for p in model.policies if p.id in game.running}
    assert {p.type_name for p in added.values()} == {"demand_reduction", "bilateral_deal",
                                                     "mexico_enforcement"}
    assert set(added) == {"us_demand", "china_stance", "mexico_enforcement"}
    assert {p.start_week for p in added.values()} == {first_week_of(model, 2029)}
    reference = REFERENCES.compute(model.reference_key)
    deaths = model.recorder.series("overdose_deaths")
    before = first_week_of(model, 2029)
    assert np.array_equal(deaths[:before], reference["overdose_deaths"].to_numpy()[:before])
    assert deaths[before:].sum() < reference["overdose_deaths"].to_numpy()[before:model.week].sum()

    card = game.scorecard("us")
    assert [row["goal"] for row in card] == [s.label for s in TEAMS["us"].scores]
    assert card[0]["this year"] < card[0]["without choices"]

    game.move("cy", "mexico_labs", 1.0)          # Mexico stops; the others carry on
    assert game.advance() == 2030 and game.finished
    assert added["mexico_enforcement"].end_week == first_week_of(model, 2030)
    assert added["us_demand"].end_week is None and "mexico_enforcement" not in game.running
    assert model.week == model.scenario.weeks
    with pytest.raises(Refused, match="over"):
        game.advance()
    with pytest.raises(Refused, match="over"):
        game.move("ann", "naloxone", 0.3)
    rows = game.debrief()
    assert [row["year"] for row in rows] == [2029, 2030]
    assert "Mexico's lab raids: x3" in rows[0]["Mexico"] and rows[1]["Mexico"] == "no change"
    assert "Naloxone reaches: 60% of overdoses" in rows[1]["United States"]
    assert rows[0]["Deaths"] < rows[0]["Deaths without choices"]


def test_host_checks_tell_a_bad_host_from_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(HostError, match="in use"):
            check_listen("127.0.0.1", port)
    for host in ("::1", "192.0.2.7", "no-such-host.invalid"):
        try:
            check_listen(host, 0)     # ::1 is fine where this machine has IPv6
        except HostError as error:
            assert "in use" not in str(error) and f"--host {host}" in str(error)


def test_classroom_command_refuses_bad_input(capsys):
    from sim.cli import main

    assert main(["classroom", "--teams", "--host", "192.0.2.7"]) == 2
    assert "--host 192.0.2.7" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["classroom", "--teams", "--port", "0"])
    assert exit_info.value.code == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_server_process_dies_with_its_parent():
    """A parent killed outright (SIGKILL: no cleanup runs) still takes its server child down."""
    parent = textwrap.dedent("""
        import os, signal, subprocess, sys
        from sim.classroom.server import die_with_parent
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                 preexec_fn=die_with_parent)
        print(child.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True,
                          timeout=60)
    child = int(done.stdout.split()[0])
    for _ in range(200):
        try:
            with open(f"/proc/{child}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        subprocess.run(["sleep", "0.1"], check=True)
    else:
        pytest.fail(f"the child {child} outlived its parent")
