"""The classroom dashboard: Mesa's SolaraViz around a `ClassroomModel`.

Start it with `make demo` or `python run.py demo` (which serves this file with `solara run`).
Every browser tab gets its own model: `Page` builds one per session with `solara.use_memo`.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim.classroom.charts import charts_spec
from sim.classroom.events import event_feed
from sim.classroom.model import DEFAULT_SCENARIO, SCENARIO_DIR, ClassroomModel, scenario_files
from sim.classroom.network_view import network_spec
from sim.classroom.server import SCENARIO_ENV

EVENTS_SHOWN = 12
PLAY_INTERVAL_MS = 1   # pause between played weeks (ms): stepping and drawing take the rest

ABOUT = """
**What this is.** An agent-based model of the illicit fentanyl supply chain, one week a step
from January 2016. Chemical firms in China and India sell precursors, often online, to Mexican
cartels (Sinaloa, CJNG, ...), which make fentanyl and smuggle it into the US, where people who
use opioids may overdose and die. Customs agencies inspect what crosses their posts,
regulators control chemicals, and China's cooperation with the US rises and falls with
sanctions, deals and tariffs. The years 2016-2025 replay the real history of scheduling,
sanctions and diplomacy; after that it is the status quo unless you move a lever.

**How it works.** Nobody scripts the results. Makers switch to a chemical that is not
controlled yet; cartels move loads away from the routes where they lose them; customs move
inspections towards where they find loads; users' risk rises with stronger, more variable
doses. Numbers are scaled up to real people and kilograms; the thin grey line is the same
scenario and seed without your levers.

**Things to try.**

1. Press Play and watch the chemical most shipped change after each scheduling (2017, 2019,
   2022, 2024): analogs outrun regulators.
2. Set *US customs capacity* to 3, Reset and Play: seizures rise, but where does fentanyl
   cross now? (the balloon effect)
3. Compare *Sanctions* (with the Institute) with *Taskforce: China*: which helps more, and
   what happens to China's cooperation?
4. Raise *Treatment* and *Naloxone*: deaths fall even though supply hardly changes.

Full description: `docs/ODD.md`; lessons for teachers: `docs/classroom.md`.
"""


def opening_scenario() -> Path:
    """The scenario file the page opens with (`run.py demo --scenario`)."""
    return Path(os.environ.get(SCENARIO_ENV, SCENARIO_DIR / DEFAULT_SCENARIO))


def model_params(opening: Path) -> dict:
    """The sidebar's inputs: scenario, seed, population and the policy levers (applied on
    Reset)."""
    return {
        "scenario_folder": opening.parent,
        "scenario": {"type": "Select", "value": opening.name,
                     "values": scenario_files(opening.parent), "label": "Scenario"},
        "seed": {"type": "SliderInt", "value": 42, "min": 0, "max": 200, "step": 1,
                 "label": "Seed"},
        "classroom_size": {"type": "Checkbox", "value": True,
                           "label": "Classroom size (20,000 people-agents, fast)"},
        "from_year": {"type": "SliderInt", "value": 2020, "min": 2016, "max": 2030, "step": 1,
                      "label": "Levers act from (year)"},
        "sanctions": {"type": "Checkbox", "value": False, "label": "US sanctions on Chinese firms"},
        "sanctioned_firms": {"type": "SliderInt", "value": 30, "min": 5, "max": 200, "step": 5,
                             "label": "Firms sanctioned"},
        "sanctions_institute": {"type": "Checkbox", "value": False,
                                "label": "...and the Institute of Forensic Science"},
        "taskforce_china": {"type": "Checkbox", "value": False, "label": "Taskforce: China"},
        "taskforce_mexico": {"type": "Checkbox", "value": False, "label": "Taskforce: Mexico"},
        "taskforce_india": {"type": "Checkbox", "value": False, "label": "Taskforce: India"},
        "us_customs_capacity": {"type": "SliderFloat", "value": 1.0, "min": 1.0, "max": 5.0,
                                "step": 0.5, "label": "US customs capacity (x inspections)"},
        "guns_stopped": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 1.0,
                         "step": 0.1, "label": "Arms control (share of guns south stopped)"},
        "treatment": {"type": "SliderFloat", "value": 1.0, "min": 0.5, "max": 3.0, "step": 0.25,
                      "label": "Treatment (x places and outreach)"},
        "naloxone": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 0.9, "step": 0.1,
                     "label": "Naloxone (share of overdoses reached; 0 = as today)"},
    }


# The page's tiles are Solara components (not plain functions, which SolaraViz wraps anew on
# every Reset): their Vega widgets then survive a Reset instead of being torn down while the
# browser is still drawing them. Each reads Mesa's update counter, so it redraws every step.
@solara.component
def NetworkView(model):
    """The supply network this week."""
    update_counter.get()
    return solara.widgets.VegaLite.element(spec=network_spec(model))


@solara.component
def Charts(model):
    """Deaths, fentanyl, seizures, price, cooperation and routes, with the reference line."""
    update_counter.get()
    return solara.widgets.VegaLite.element(spec=charts_spec(model, model.reference()))


@solara.component
def Monitor(label: str, value: str):
    with solara.Card(margin=1, style={"min-width": "150px"}), solara.Column(gap="0px"):
        solara.Text(label, style={"font-size": "0.8em", "color": "#666"})
        solara.Text(value, style={"font-size": "1.4em", "font-weight": "bold"})


@solara.component
def Monitors(model):
    """Week and date, deaths so far, kg seized, active makers; then the events panel."""
    update_counter.get()
    rec = model.recorder
    deaths = rec.series("overdose_deaths").sum()
    seized_us = rec.series("fentanyl_seized_kg").sum()
    seized_mx = rec.series("fentanyl_seized_mx_kg").sum()
    makers = model.makers.active.sum()
    with solara.Column() as main:
        with solara.Row(style={"flex-wrap": "wrap"}):
            Monitor("Week", f"{model.week} · {model.date:%d %b %Y}")
            Monitor("Deaths so far", f"{deaths:,.0f}")
            Monitor("Fentanyl seized, US / Mexico", f"{seized_us:,.0f} / {seized_mx:,.0f} kg")
            Monitor("Active precursor makers", f"{makers:,}")
        solara.Markdown("**What just happened**")
        feed = event_feed(model)[:EVENTS_SHOWN]
        if not feed:
            solara.Text("Nothing yet: press Step or Play.")
        for day, text in feed:
            solara.Text(f"{day:%b %Y}: {text}", style={"font-size": "0.9em"})
    return main


@solara.component
def About(model):
    with solara.Details("About this model", expand=True):
        solara.Markdown(ABOUT)


COMPONENTS = [(NetworkView, 0), (Charts, 0), (Monitors, 0), (About, 0)]


@solara.component
def Page():
    """One model per browser tab."""
    opening = opening_scenario()
    model = solara.use_memo(lambda: ClassroomModel(scenario=opening.name,
                                                   scenario_folder=opening.parent), [])
    return SolaraViz(model, components=COMPONENTS, model_params=model_params(opening),
                     play_interval=PLAY_INTERVAL_MS,
                     name="Fentanyl supply chain · classroom")
