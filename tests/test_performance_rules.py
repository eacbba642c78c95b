"""Rules that keep the model fast and the benchmarks honest (nothing here is timed)."""

import dataclasses
import datetime as dt
import sys

import numpy as np
import pytest

from benchmarks import mesa_reference, workloads
from sim.actors.customs import sharing_weights
from sim.actors.users import Users
from sim.cli import main
from sim.kernels.users import C_DEATHS, C_OVERDOSES, step_users
from sim.model import PHASES, FentanylModel
from sim.policies.base import Levers, Policy
from tests.conftest import TINY


def test_profile_prints_the_time_of_every_phase(capsys):
    assert main(["profile", str(TINY), "--weeks", "3", "--set", "users.agents=2000"]) == 0
    out = capsys.readouterr().out
    assert "3,200 user slots" in out
    for phase in PHASES:
        assert f"\n{phase.name} " in out


def test_run_set_changes_a_parameter_and_takes_one_value(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(TINY), "--weeks", "2", "--set", "users.agents=1000", "--out",
                 str(out), "--no-plots", "--quiet"]) == 0
    assert "agents: 1000" in (out / "scenario_resolved.yaml").read_text()
    assert main(["run", str(TINY), "--set", "users.agents=1000,2000"]) == 2
    assert "one value per parameter" in capsys.readouterr().err


def test_user_state_is_narrow_and_per_week_memory_does_not_grow_with_weeks(run_model):
    users = Users.create(1000, 600, np.ones(5), 0.5, 1)
    assert sum(a.itemsize for a in (users.state, users.region, users.tolerance_mg)) <= 8
    model = run_model(weeks=20)
    sizes = array_bytes(model)
    assert sizes["users.state"] > 0 and sizes["makers.active"] > 0 and sizes["posts.inspections"] > 0
    model.run(30)
    assert array_bytes(model) == sizes


def array_bytes(model) -> dict[str, int]:
    """Bytes of every array the model and its array-backed actors hold, by name."""
    holders = {"model": model, "users": model.users, "makers": model.makers,
               "posts": model.posts, "dealers": model.dealers, "controls": model.controls}
    sizes = {f"{who}.{name}": a.nbytes for who, holder in holders.items()
             for name, a in vars(holder).items() if isinstance(a, np.ndarray)}
    sizes.update({f"pipeline.{name}": a.nbytes for name, a in model.pipeline.ring.items()})
    return sizes


def test_mesa_reference_follows_the_kernels_rules():
    """Same population and rules, different random numbers: overdoses and deaths agree within
    sampling noise."""
    rules, n = workloads.user_workload(), 40_000
    counts = step_users(*workloads.users(n), *rules.kernel_args(0))
    mesa = mesa_reference.UsersModel(*workloads.users(n), rules)
    mesa.step()
    assert sum(mesa.overdoses) == pytest.approx(counts[C_OVERDOSES].sum(), rel=0.15)
    assert sum(mesa.deaths) == pytest.approx(counts[C_DEATHS].sum(), abs=25)


def test_a_play_that_does_not_answer_is_recorded_and_the_other_figures_kept(monkeypatch):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from benchmarks import classroom
    from benchmarks.__main__ import table

    def no_answer():
        raise PlaywrightTimeout("Locator.click: Timeout 120000ms exceeded.\nCall log: ...")

    monkeypatch.setattr(classroom, "CHROMIUM", sys.executable)   # a file that exists
    monkeypatch.setattr(classroom, "step_ms", lambda: 120.0)
    monkeypatch.setattr(classroom, "play_weeks_per_s", no_answer)
    figures = classroom.figures()
    assert figures == {"classroom_step_ms": 120.0, "classroom_play_weeks_per_s": None,
                       "classroom_play_error": "Locator.click: Timeout 120000ms exceeded."}
    shown = table(figures).splitlines()
    assert any(line.startswith("classroom_play_weeks_per_s") and line.endswith("not measured")
               for line in shown)
    assert any(line.startswith("classroom_step_ms") and line.endswith("ok") for line in shown)


def levers_rebuilt(model, week: int) -> Levers:
    """A week's levers built afresh: the parameters', then every active policy's changes."""
    levers = Levers.from_params(model.params, len(model.posts))
    for policy in model.policies:
        if policy.active(week):
            policy.modify(levers, model)
    return levers


@dataclasses.dataclass
class RaidRamp(Policy):
    """A policy whose levers follow the week: Mexican lab raids rise by 1% a week."""

    modify_reads_state = True

    def modify(self, levers, model):
        levers.lab_raid_multiplier *= 1 + model.week / 100


def test_levers_are_kept_while_the_active_policies_stand_and_equal_a_fresh_build():
    """The baseline's policies start and end over the run: in every week the kept levers are
    what rebuilding gives, and in a week no policy starts or ends they are last week's object;
    a policy that reads the model's state has them rebuilt every week it is active. What the
    customs agencies keep of the levers (who shares intelligence) follows them."""
    model = FentanylModel("baseline", weeks=420, **{"users.agents": 2000, "makers.firms": 200})
    ramp = RaidRamp(start=model.scenario.start + dt.timedelta(weeks=300))
    ramp.start_week = 300
    model.policies.append(ramp)   # as the classroom adopts a policy during a run
    kept_weeks = rebuilt_weeks = shared_weeks = 0
    previous = None
    for week in range(420):
        changes = any(week in (p.start_week, p.end_week) for p in model.policies)
        fresh = levers_rebuilt(model, week)   # as the week's first phase sees the model
        model.step()
        for f in dataclasses.fields(Levers):
            assert np.array_equal(getattr(model.levers, f.name), getattr(fresh, f.name)), (
                week, f.name)
        sharing = sharing_weights(model)
        assert np.array_equal(sharing.weight,
                              fresh.intel_sharing_weight[model.posts.agency_country])
        assert sharing.shared == bool((sharing.weight > 0).any())
        shared_weeks += sharing.shared
        if week >= 300:
            assert model.levers.lab_raid_multiplier == fresh.lab_raid_multiplier
            assert model.levers is not previous
        elif not changes and previous is not None:
            assert model.levers is previous
            kept_weeks += 1
        else:
            rebuilt_weeks += 1
        previous = model.levers
    assert kept_weeks > 200 and rebuilt_weeks >= 5 and 0 < shared_weeks < 420
