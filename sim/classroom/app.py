"""The classroom dashboard: one page a teacher can project (1280x800), around a
`ClassroomModel`; Mesa's `ModelController` gives Reset, Play/Pause and Step.

Start it with `make demo` or `python run.py demo` (which serves this file with `solara run`).
Every browser tab gets its own model: `Page` builds one per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara
from mesa.visualization.solara_viz import ModelController, ShowSteps
from mesa.visualization.utils import update_counter

from sim.classroom.levers import SOLO_LEVERS, ClassroomLevers, LeverInput
from sim.classroom.model import (
    DEFAULT_SCENARIO,
    REFERENCES,
    SCENARIO_DIR,
    ClassroomModel,
    scenario_files,
)
from sim.classroom.server import SCENARIO_ENV
from sim.classroom.widgets import CSS, ChartsTile, Events, Lever, Monitor, NetworkTile

# Play's pace: (pause between played weeks in ms, weeks per redraw). "normal" is about 12
# weeks a second at classroom size: stepping and drawing take the time, not the pause.
SPEEDS = {"slow": (250, 1), "normal": (1, 1), "fast": (1, 4)}
SEED = LeverInput("seed", "Random seed", 0, 200, 1)
CLASSROOM_SIZE = LeverInput("classroom_size", "Classroom size (fast)", step=0)

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
doses. Numbers are scaled up to real people and kilograms; the grey line is the same
scenario and seed without your levers.

**Things to try.**

1. Press Play and watch the chemical most shipped change after each scheduling (2017, 2019,
   2022, 2024): analogs outrun regulators.
2. Set *US customs inspections* to x3, Reset and Play: seizures rise, but where does fentanyl
   cross now? (the balloon effect)
3. Compare *US sanctions* (with the institute) with *Taskforce with China*: which helps more,
   and what happens to China's cooperation?
4. Raise *US treatment places* and *Naloxone reaches*: deaths fall even though supply hardly
   changes.

Full description: `docs/ODD.md`; lessons for teachers: `docs/classroom.md`.
"""


def opening_scenario() -> Path:
    """The scenario file the page opens with (`run.py demo --scenario`)."""
    return Path(os.environ.get(SCENARIO_ENV, SCENARIO_DIR / DEFAULT_SCENARIO))


def opening_settings(opening: Path) -> dict:
    """The model's arguments the page starts with (what Reset builds the model from)."""
    levers = ClassroomLevers()
    return {"scenario": opening.name, "scenario_folder": opening.parent, "seed": 42,
            "classroom_size": True, **{lever.name: getattr(levers, lever.name)
                                       for lever in SOLO_LEVERS}}


@solara.component
def Monitors(model):
    """Deaths so far, kg seized, active makers."""
    update_counter.get()
    rec = model.recorder
    deaths = rec.series("overdose_deaths").sum()
    seized_us = rec.series("fentanyl_seized_kg").sum()
    seized_mx = rec.series("fentanyl_seized_mx_kg").sum()
    with solara.Row(gap="6px"):
        Monitor("Deaths so far", f"{deaths:,.0f}")
        Monitor("Seized, US / Mexico", f"{seized_us:,.0f} / {seized_mx:,.0f} kg")
        Monitor("Active makers", f"{model.makers.active.sum():,}")


@solara.component
def World(model):
    """Network and charts; redrawn every step."""
    step = update_counter.get()
    reference = model.reference()
    # redraw once the reference run (computed in the background) is ready
    solara.use_thread(lambda: REFERENCES.wait(model.reference_key),
                      dependencies=[model.reference_key])
    with solara.Column(gap="4px", style={"width": "808px"}):
        NetworkTile(model, step)
        ChartsTile(model, step, reference is not None)



@solara.component
def Settings(settings: solara.Reactive[dict]):
    """Scenario, seed and the levers, two a row; they act from the next Reset."""
    values = settings.value

    def setter(name):
        return lambda value: settings.set({**settings.value, name: value})

    solara.Select("Scenario", style={"margin-top": "14px"}, value=values["scenario"],
                  values=scenario_files(values["scenario_folder"]), on_value=setter("scenario"),
                  dense=True)
    with solara.Row(gap="0px", style={"flex-wrap": "wrap"}):
        for lever in (SEED, CLASSROOM_SIZE, *SOLO_LEVERS):
            Lever(lever, values[lever.name], setter(lever.name))
    solara.Text("Levers act when you press Reset.", classes=["key"])


@solara.component
def Page():
    """One model per browser tab."""
    opening = opening_scenario()
    settings = solara.use_reactive(opening_settings(opening))
    first = solara.use_memo(lambda: ClassroomModel(**settings.value), [])
    model = solara.use_reactive(first)
    speed = solara.use_reactive("normal")
    play_ms = solara.use_reactive(SPEEDS["normal"][0])
    redraw_every = solara.use_reactive(SPEEDS["normal"][1])
    no_threads = solara.use_reactive(False)   # Mesa's "Use Threads", kept off

    def set_speed(name: str):
        speed.set(name)
        play_ms.set(SPEEDS[name][0])
        redraw_every.set(SPEEDS[name][1])

    solara.Style(CSS)
    solara.Title("Fentanyl supply chain · classroom")
    with solara.Column(gap="4px", classes=["classroom-page"]):
        with solara.Row(gap="12px", style={"align-items": "center", "height": "40px"}):
            solara.Text("Fentanyl supply chain", style={"font-weight": "bold",
                                                        "font-size": "1.2em"})
            with solara.Row(gap="4px", style={"width": "230px"}):
                ModelController(model, model_parameters=settings, play_interval=play_ms,
                                render_interval=redraw_every, use_threads=no_threads)
            solara.ToggleButtonsSingle(value=speed.value, values=list(SPEEDS),
                                       on_value=set_speed, dense=True)
            ShowSteps(model.value)
            WeekMonitor(model.value)
        with solara.Row(gap="8px", style={"align-items": "flex-start"}):
            World(model.value)
            with solara.Column(gap="4px", style={"width": "450px", "height": "740px",
                                                 "overflow-y": "auto"}):
                Monitors(model.value)
                Settings(settings)
                EventsNow(model.value)
                with solara.Details("About this model"):
                    solara.Markdown(ABOUT)


@solara.component
def EventsNow(model):
    Events(model, update_counter.get(), height=150)


@solara.component
def WeekMonitor(model):
    update_counter.get()
    Monitor("Week", f"{model.week} · {model.date:%d %b %Y}")

