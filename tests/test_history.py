"""History replayed: the baseline's dated controls act at their real dates, the regulators' own
scheduling rules act only once the record ends, and the November 2025 understanding raises
China's cooperation while the fentanyl tariff is cut. Cooperation and controls do not depend on
random draws, so one seed shows them."""

import datetime as dt

import pytest

from sim.config import load_scenario
from sim.events import ADOPTED_UN_CONTROL, BY_POLICY, CONTROL, UN_DETECTION
from sim.model import FentanylModel
from sim.policies.regulation import ClassScheduling, RecordedHistory
from tests.conftest import SMALL, frame

RECORDED = ("un", "china", "us")


def run_small(path=SMALL) -> FentanylModel:
    """The small baseline (or a scenario extending it) to two weeks past the end of the
    record."""
    scenario = load_scenario(path)
    record = next(p for p in scenario.policies if isinstance(p, RecordedHistory))
    model = FentanylModel(scenario.with_overrides(weeks=record.end_week + 2))
    model.run()
    return model


@pytest.fixture(scope="module")
def baseline():
    return run_small()


def controls(model, actor: str, chemical: str) -> list:
    return [e for e in model.events
            if e.kind == CONTROL and e.actors == (actor,) and chemical in e.chemicals]


def test_every_dated_control_finds_its_chemical_uncontrolled_until_its_date(baseline):
    chemicals = baseline.chemicals
    dated = [p for p in baseline.policies if isinstance(p, ClassScheduling)]
    assert len(dated) >= 10 and {p.regulator for p in dated} == set(RECORDED)
    for policy in dated:
        for c in policy.product_ids():
            name = chemicals.names[c]
            assert policy.regulator not in chemicals.controlled_at_start[c], (policy.label, name)
            first = controls(baseline, policy.regulator, name)[0]
            assert first.week == policy.start_week, (policy.label, name, str(first))
            assert first.cause == BY_POLICY and first.policy == policy.describe()


def test_recorded_regulators_schedule_only_by_the_record_until_it_ends(baseline):
    record = next(p for p in baseline.policies if isinstance(p, RecordedHistory))
    assert record.end == dt.date(2026, 1, 1) and tuple(record.regulators) == RECORDED
    by_rule = [e for e in baseline.events if e.kind == CONTROL and e.cause != BY_POLICY]
    assert all(e.actors[0] not in RECORDED for e in by_rule if e.week < record.end_week)
    assert {e.actors[0] for e in by_rule if e.week < record.end_week} == {"mexico", "india"}
    # the UN listed 4-piperidone in December 2024 (dated); China had not by the end of 2025, so
    # its adoption rule, overdue by then, acts in the first week after the record
    china = controls(baseline, "china", "4-piperidone")
    assert [e.week for e in china] == [record.end_week] and china[0].cause == ADOPTED_UN_CONTROL
    assert china[0].value("weeks_pending") > china[0].value("lag_weeks")
    assert "adopted UN control: pending" in str(china[0])


def test_the_2025_understanding_raises_cooperation_as_the_tariff_is_cut(baseline, scenario_file):
    understanding = next(p for p in baseline.policies if p.id == "us_china_understanding_2025")
    tariff = next(p for p in baseline.policies if p.id == "fentanyl_tariff_raise")
    assert understanding.start == tariff.end == dt.date(2025, 11, 10)
    cut = understanding.start_week
    with_it = frame(baseline)["china_cooperation"]
    without = frame(run_small(scenario_file(SMALL, policies=[
        {"id": "us_china_understanding_2025", "enabled": False}])))["china_cooperation"]
    assert with_it[cut + 6] > with_it[cut - 1] + 0.005
    assert without[cut + 6] < without[cut - 1] - 0.005   # the tariff cut alone lowers it


def test_rules_held_by_the_record_act_once_it_ends(run_model):
    """Tiny world: the UN's detection rule lists NPP about 20 weeks into a run; held by the
    record to week 40, it lists nothing before and NPP at week 40, on the evidence it kept
    gathering. China's adoption of a UN control (17 weeks at full cooperation) held to week 60
    acts at week 60."""
    held = [{"type": "recorded_history", "regulators": ["un"], "start": "2016-01-04",
             "end": "2016-10-10"}]   # week 40
    model = run_model(weeks=45, policies=held,
                      parameters={"regulators": {"un_detection_lag_weeks": 20}})
    un = [e for e in model.events if e.kind == CONTROL and e.actors == ("un",)]
    assert un and min(e.week for e in un) == 40
    npp = next(e for e in un if "npp" in e.chemicals)
    assert npp.cause == UN_DETECTION and npp.week == 40
    assert npp.value("share") > npp.value("threshold")
    assert npp.value("prominent_weeks") + npp.value("seizure_weeks") >= 20 + 10   # overdue
    assert str(npp).startswith("un controls npp (detected by trade prominence: smoothed share")

    policies = [{"type": "class_scheduling", "regulator": "un", "classes": ["npp_anpp"],
                 "start": "2016-02-01"},
                {"type": "recorded_history", "regulators": ["china"], "start": "2016-01-04",
                 "end": "2016-02-29"}]   # week 8: before the 17-week lag has passed
    cooperative = {"regulators": {"china_cooperation_initial": 1.0, "china_cooperation_base": 1.0}}
    for end, expected in (("2016-02-29", 4 + 17), ("2017-02-27", 60)):
        policies[1]["end"] = end
        model = run_model(weeks=expected + 5, policies=policies, parameters=cooperative)
        china = controls(model, "china", "npp")
        assert len(china) == 1 and china[0].cause == ADOPTED_UN_CONTROL
        # ended before the lag passed, the lag decides; held past it, the rule acts at the end
        assert china[0].week == pytest.approx(expected, abs=1 if expected < 60 else 0)
