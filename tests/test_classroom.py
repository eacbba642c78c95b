"""The classroom dashboard without a browser: levers, the model behind the page, the network
view, the event feed, and the page's components through Solara's render API."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from solara.server.kernel_context import PageStatus

from sim.actors.customs import agencies
from sim.actors.regulators import regulators as regulator_agents
from sim.classroom import assets
from sim.classroom.charts import SMOOTH_WEEKS, charts_spec, smooth
from sim.classroom.events import SHIFT_HOLD_WEEKS, _leader_changes, display_name, event_feed, explain
from sim.classroom.levers import ClassroomLevers
from sim.classroom.model import REFERENCES, ClassroomModel, classroom_scenario, scenario_files
from sim.classroom.network_view import (
    HEIGHT,
    WIDTH,
    edge_flows_kg,
    inspection_shares,
    label_boxes,
    network_spec,
    node_info,
)


def test_levers_at_rest_add_nothing_and_each_moved_lever_adds_its_policy():
    base = classroom_scenario("classroom_small.yaml", 1, True)
    assert ClassroomLevers().apply(base).policies == base.policies
    moved = ClassroomLevers(from_year=2021, sanctions=True, sanctions_institute=True,
                            taskforce_china=True, taskforce_mexico=True, us_customs_capacity=2.0,
                            guns_stopped=0.5, treatment=2.0, naloxone=0.6).apply(base)
    added = moved.policies[len(base.policies):]
    assert [p.type_name for p in added] == ["sanctions", "taskforce", "customs_surge",
                                            "arms_control", "demand_reduction"]
    assert {p.start.year for p in added} == {2021}
    assert added[1].members == ["us", "china", "mexico"]
    assert set(added[2].posts) == {"san_diego", "nogales", "el_paso", "laredo", "between_ports",
                                   "mail_express"}
    assert base.policies == classroom_scenario("classroom_small.yaml", 1, True).policies


def tab(status: PageStatus, closed: bool = False) -> SimpleNamespace:
    """A stand-in for the Solara session of a browser tab with one page."""
    session = SimpleNamespace(page_status={"page": status}, closed_event=threading.Event())
    if closed:
        session.closed_event.set()
    return session


def test_play_stops_for_a_tab_that_is_gone_and_waits_for_one_that_reconnects():
    gone = ClassroomModel(seed=4)
    gone.session = tab(PageStatus.DISCONNECTED, closed=True)
    gone.step()
    assert gone.running is False and gone.week == 0       # Mesa's Play loop ends here
    away = ClassroomModel(seed=4)
    away.session = tab(PageStatus.DISCONNECTED)
    threading.Timer(0.3, away.session.page_status.update, [{"page": PageStatus.CONNECTED}]).start()
    away.step()                                            # waits, then steps
    assert away.running is True and away.week == 1
    here = ClassroomModel(seed=4)
    here.session = tab(PageStatus.CONNECTED)
    here.step()
    assert here.week == 1 and ClassroomModel(seed=4).session is None   # no server, no waiting


def test_a_thread_that_starts_stepping_waits_for_the_page_first(monkeypatch):
    """Play steps in a thread of its own: its first week waits FIRST_WEEK_PAUSE_S (for the
    page's redraw after the click); later weeks on the same thread do not, a new thread does."""
    import sim.classroom.model as classroom_model

    pauses = []
    monkeypatch.setattr(classroom_model.time, "sleep", pauses.append)
    model = ClassroomModel(seed=4)
    model.step()
    model.step()
    play = threading.Thread(target=lambda: [model.step() for _ in range(3)])
    play.start()
    play.join()
    assert model.week == 5
    # (a reference run in the background may pause too, by YIELD_S)
    assert pauses.count(classroom_model.FIRST_WEEK_PAUSE_S) == 2


def test_classroom_size_and_picker():
    assert "baseline.yaml" in scenario_files() and "classroom_small.yaml" in scenario_files()
    small = classroom_scenario("baseline.yaml", 3, True)
    assert small.parameters["users"]["agents"] == 20_000 and small.seed == 3
    assert classroom_scenario("baseline.yaml", 3, False).parameters["users"]["agents"] == 300_000


def test_a_lever_changes_the_run_only_from_its_start():
    """Common random numbers: identical until the levers' year, different after."""
    plain = ClassroomModel(seed=5)
    treated = ClassroomModel(seed=5, from_year=2017, naloxone=0.9, treatment=2.0)
    plain.run(80)
    treated.run(80)
    start = next(p.start_week for p in treated.policies if p.type_name == "demand_reduction")
    deaths_plain = plain.recorder.series("overdose_deaths")
    deaths_treated = treated.recorder.series("overdose_deaths")
    assert np.array_equal(deaths_plain[:start], deaths_treated[:start])
    assert deaths_treated[start:].sum() < 0.8 * deaths_plain[start:].sum()


def test_reference_is_the_scenario_without_levers():
    model = ClassroomModel(seed=7, sanctions=True)
    reference = REFERENCES.compute(model.reference_key)
    assert len(reference) == model.scenario.weeks
    plain = ClassroomModel(seed=7)
    plain.run(30)
    assert np.array_equal(reference["overdose_deaths"].to_numpy()[:30],
                          plain.recorder.series("overdose_deaths"))


def test_network_view_follows_the_week():
    model = ClassroomModel(seed=2)
    assert sum(edge_flows_kg(model).values()) == 0
    model.run(20)
    flows = edge_flows_kg(model)
    index = model.network.node_index
    into_entries = sum(kg for (a, b), kg in flows.items()
                       if b in [index[e] for e in model.network.entry_names])
    out_of_entries = sum(kg for (a, b), kg in flows.items()
                         if a in [index[e] for e in model.network.entry_names])
    assert into_entries > 0
    entry_nodes = {index[e] for e in model.network.entry_names}
    crossing = [r for r, path in enumerate(model.network.routes.node_paths)
                if entry_nodes & set(path)]
    out = model.week_outcome
    assert out_of_entries == pytest.approx(
        (out.fentanyl_delivered_kg + out.finished_delivered_kg)[crossing].sum())
    shares = inspection_shares(model)
    for agency in agencies(model):
        assert shares[agency.posts].sum() == pytest.approx(1.0)
    info = node_info(model)
    assert "inspections" in info[index["san_diego"]] and "seized this week" in info[index["laredo"]]
    sinaloa = info[index["mx_sinaloa"]]
    assert {"labs", "fentanyl in stock", "routes north", "armed strength"} <= set(sinaloa)
    layers = network_spec(model)["layer"]
    nodes, regulators = layers[2]["data"]["values"], layers[3]["data"]["values"]
    assert len(nodes) == len(model.network.graph)
    assert len(regulators) == len(regulator_agents(model)) == 5
    china = next(r["info"] for r in regulators if r["info"]["title"].startswith("China"))
    assert {"cooperation with the US", "enforcement"} <= set(china)
    widths = [edge["width"] for edge in layers[0]["data"]["values"]]
    assert min(widths) >= 0.5 and max(widths) == pytest.approx(9.5)


def test_network_labels_never_overlap_and_stay_inside():
    """Every text's box (a generous glyph width) is inside the drawing and meets no other."""
    model = ClassroomModel(seed=3)
    model.run(30)
    boxes = label_boxes(network_spec(model))
    assert len(boxes) > len(model.network.graph)
    for i, (left, top, right, bottom) in enumerate(boxes):
        assert left >= 0 and top >= 0 and right <= WIDTH and bottom <= HEIGHT, boxes[i]
        for other in boxes[i + 1:]:
            overlap = left < other[2] and other[0] < right and top < other[3] and other[1] < bottom
            assert not overlap, (boxes[i], other)


def test_every_model_event_is_explained_in_plain_words():
    model = ClassroomModel(seed=1, sanctions=True, taskforce_china=True)
    model.run(400)
    for event in model.events:
        plain = explain(event)
        assert "_" not in plain and "(policy)" not in plain, plain
    feed = event_feed(model)
    assert [d for d, _ in feed] == sorted((d for d, _ in feed), reverse=True)
    assert any(text.startswith("Makers switch") for _, text in feed)
    assert any("taskforce of the US with China" in text and "share intelligence" in text
               for _, text in feed)


def test_a_shift_is_news_only_when_the_new_leader_is_clearly_ahead_for_weeks():
    weeks = 200
    a = np.where(np.arange(weeks) < 100, 0.6, 0.3)
    b = 1 - a
    changes = _leader_changes(["a", "b"], [a, b])
    assert len(changes) == 1 and changes[0][1] == "b"
    assert 100 + SHIFT_HOLD_WEEKS <= changes[0][0] < 100 + SMOOTH_WEEKS + SHIFT_HOLD_WEEKS
    wobble = 0.5 + 0.01 * np.sin(np.arange(weeks))
    assert _leader_changes(["a", "b"], [wobble, 1 - wobble]) == []
    # the case: Laredo 27% then San Diego 28% for good is a flip, not a decision
    laredo = np.where(np.arange(weeks) < 100, 0.28, 0.27)
    assert _leader_changes(["laredo", "san_diego"], [laredo, 0.55 - laredo]) == []
    # a lead of more than the margin that does not last is not news either
    blip = np.where((np.arange(weeks) >= 100) & (np.arange(weeks) < 102), 0.9, 0.4)
    assert _leader_changes(["a", "b"], [1 - blip, blip]) == []
    assert smooth(np.ones(5), 3).tolist() == [1.0] * 5


def test_display_names():
    assert display_name("us_cbp_ports_of_entry") == "US CBP Ports of Entry"
    assert display_name("san_diego") == "San Diego"
    assert display_name("1-boc-4-ap", chemical=True) == "1-boc-4-AP"
    assert display_name("fentanyl_analogs", chemical=True) == "fentanyl-related substances"


def test_charts_spec_has_run_and_reference_lines():
    model = ClassroomModel(seed=7)
    model.run(12)
    reference = REFERENCES.compute(model.reference_key)
    spec = charts_spec(model, reference)
    deaths = spec["concat"][0]["layer"][0]["data"]["values"]
    runs = {row["run"] for row in deaths}
    assert runs == {"this run", "without your levers"}
    assert max(row["year"] for row in deaths if row["run"] == "this run") < 2016.3
    assert len(spec["concat"]) == 6
    # the deaths panel: all opioid deaths solid, fentanyl's and its analogs' (a part) dashed
    assert {row["series"] for row in deaths} == {"overdose_deaths", "synthetic_opioid_deaths"}
    assert "strokeDash" in spec["concat"][0]["layer"][0]["encoding"]
    mine = {(r["series"], r["year"]): r["value"] for r in deaths if r["run"] == "this run"}
    assert all(mine["synthetic_opioid_deaths", year] <= value
               for (series, year), value in mine.items() if series == "overdose_deaths")


def test_page_steps_and_each_session_has_its_own_model():
    """Solara's render API: Step advances the page's own model; another render starts at 0."""
    import ipyvuetify as v
    import solara

    from sim.classroom.app import Page

    def render():
        box, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
        return rc

    first = render()
    step = first.find(v.Btn, children=["Step"])
    step.widget.click()
    step.widget.click()
    first.find(children=["Step: 2"]).assert_single()
    first.find(v.Html, children=["2 · 18 Jan 2016"]).wait_for(timeout=5)
    second = render()
    second.find(children=["Step: 0"]).assert_single()
    first.find(children=["Step: 2"]).assert_single()


def test_offline_assets_are_cached():
    """`make test` and `make demo` fill Solara's asset cache from the npm registry."""
    assert assets.missing() == []
    assert (assets.cache_dir() / "requirejs@2.3.6" / "require.min.js").exists()


def test_lesson_tables_total_flows_and_average_levels():
    from sim.classroom.lessons import yearly

    frame = pd.DataFrame({"date": ["2016-01-04", "2016-06-06", "2017-01-02"],
                          "overdose_deaths": [1.0, 2.0, 4.0], "china_cooperation": [0.2, 0.4, 0.9]})
    assert yearly(frame, "overdose_deaths").tolist() == [3.0, 4.0]
    assert yearly(frame, "china_cooperation").tolist() == pytest.approx([0.3, 0.9])


def test_lesson_command_writes_figure_and_table_and_keeps_what_exists(tmp_path):
    from sim.cli import main

    out = tmp_path / "lesson1"
    assert main(["lesson", "1", "--replicates", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out / "lesson1.csv")
    assert set(table.series) == {"overdose_deaths", "synthetic_opioid_deaths", "fentanyl_seized_kg",
                                 "fentanyl_to_us_kg", "retail_price_usd_per_mg"}
    assert (table.p5 <= table["median"]).all() and (table["median"] <= table.p95).all()
    deaths = table.pivot(index="year", columns="series", values="median")   # T40.4: a part
    assert (deaths.synthetic_opioid_deaths <= deaths.overdose_deaths).all()
    assert (out / "lesson1.png").stat().st_size > 10_000
    assert main(["lesson", "1", "--replicates", "1", "--out", str(out)]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["lesson", "6"])
    assert exit_info.value.code == 2


def test_lessons_and_the_classroom_model_need_no_dashboard_packages():
    """`run.py lesson` works on a `make run` install, which has no Solara (nor the other
    `classroom` extras): in a process where importing them fails, the lesson module loads and a
    classroom model steps."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import importlib.abc, sys
class NoDashboard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("solara", "ipyvuetify", "ipyvue", "altair", "playwright"):
            raise ImportError(f"{name} is not installed")
sys.meta_path.insert(0, NoDashboard())
import sim.classroom.lessons
from sim.classroom.model import ClassroomModel
model = ClassroomModel(seed=1)
model.step()
print(model.week, model.session, "solara" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "None", "False"]


def test_demo_refuses_bad_input_before_serving(tmp_path, capsys):
    import socket

    from sim.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nseed: -1\n")
    assert main(["demo", "--scenario", str(bad)]) == 2
    assert "seed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--port", "70000"])
    assert exit_info.value.code == 2
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["demo", "--port", str(port)]) == 2
    assert "in use" in capsys.readouterr().err
