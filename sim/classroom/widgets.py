"""Pieces both classroom pages use: a lever that shows its value and unit, a monitor, the
network and chart tiles, the events feed, and the page's style (sized for a 1280x800
projector, scaled up on larger screens)."""

from __future__ import annotations

import solara

from sim.classroom.charts import REFERENCE_COLOR, RUN_COLOR, charts_spec
from sim.classroom.events import event_feed
from sim.classroom.levers import LeverInput
from sim.classroom.network_view import network_spec

EVENTS_SHOWN = 12
EMPTY_FEED = ("No events yet. As the weeks pass, this lists policies starting and ending, "
              "chemicals being controlled, and the shifts the agents make on their own (makers "
              "switching chemical, traffickers switching crossing, customs following them), "
              "newest first.")

CSS = """
.classroom-page { width: 1270px; height: 790px; margin: 0 auto; overflow: hidden;
                  font-size: 14px; }
@media (min-width: 1440px) and (min-height: 900px) { .classroom-page { zoom: 1.12; } }
@media (min-width: 1600px) and (min-height: 1000px) { .classroom-page { zoom: 1.25; } }
.classroom-page .v-input { margin-top: 0; padding-top: 0; }
.classroom-page .v-input__slot { margin-bottom: 0; }
.classroom-page .v-messages { display: none; }
.lever { width: 205px; padding: 2px 6px; }
.lever .v-input { min-width: 140px; }
.lever-choice { width: 290px; }
.lever-label { font-size: 0.85em; color: #333; }
.lever-value { font-size: 0.85em; font-weight: bold; color: #1a5276; white-space: nowrap; }
.monitor { padding: 2px 8px; border: 1px solid #ddd; border-radius: 4px; min-width: 120px; }
.monitor-label { font-size: 0.75em; color: #666; }
.monitor-value { font-size: 1.15em; font-weight: bold; }
.events { overflow-y: auto; font-size: 0.85em; }
.key { font-size: 0.8em; color: #444; }
"""


@solara.component
def Lever(spec: LeverInput, value, on_value):
    """A setting in plain words with its value and unit beside it, at least 140 px wide."""
    with solara.Column(gap="0px", classes=["lever"] + (["lever-choice"] if spec.choices else [])):
        with solara.Row(justify="space-between", style={"align-items": "baseline"}):
            solara.Text(spec.label, classes=["lever-label"])
            solara.Text(spec.shows(value), classes=["lever-value"])
        if spec.choices:
            solara.ToggleButtonsSingle(value=value, values=list(spec.choices), on_value=on_value,
                                       dense=True)
        elif spec.step == 0:
            solara.Switch(value=value, on_value=on_value)
        elif isinstance(spec.step, int) and isinstance(spec.low, int):
            solara.SliderInt("", value=value, min=spec.low, max=spec.high, step=spec.step,
                             on_value=on_value)
        else:
            solara.SliderFloat("", value=value, min=spec.low, max=spec.high, step=spec.step,
                               on_value=on_value)


@solara.component
def Monitor(label: str, value: str):
    with solara.Column(gap="0px", classes=["monitor"]):
        solara.Text(label, classes=["monitor-label"])
        solara.Text(value, classes=["monitor-value"])


@solara.component
def NetworkTile(model, version: int):
    """The supply network this week, with its key; drawn anew when `version` moves."""
    spec = solara.use_memo(lambda: network_spec(model), [model, version])
    with solara.Column(gap="0px"):
        solara.Text(f"Week of {model.date:%d %b %Y} · line width: kg arriving this week (blue: "
                    "chemicals, red: fentanyl) · green: share of inspections · red ring: "
                    "seizures · purple: regulators · point at anything for its state",
                    classes=["key"])
        solara.widgets.VegaLite.element(spec=spec)


@solara.component
def ChartsTile(model, version: int, reference_ready: bool):
    """Six charts with the run (red) over the reference (grey, once `reference_ready`); drawn
    anew when `version` moves."""
    spec = solara.use_memo(lambda: charts_spec(model, model.reference()),
                           [model, version, reference_ready])
    with solara.Column(gap="0px"):
        with solara.Row(gap="12px"):
            solara.HTML(unsafe_innerHTML=f'<span style="color:{RUN_COLOR}">&#9644; this run'
                        f'</span> &nbsp; <span style="color:{REFERENCE_COLOR}">&#9644; without '
                        'your levers</span>' + ("" if reference_ready else
                                               " (being computed...)"), classes=["key"])
        solara.widgets.VegaLite.element(spec=spec)


@solara.component
def Events(model, version: int, height: int, shown: int = EVENTS_SHOWN):
    """What just happened, in plain words, newest first; read anew when `version` moves."""
    feed = solara.use_memo(lambda: event_feed(model)[:shown], [model, version])
    with solara.Column(gap="2px", classes=["events"], style={"height": f"{height}px"}):
        solara.Text("What just happened", style={"font-weight": "bold"})
        if not feed:
            solara.Text(EMPTY_FEED)
        for day, text in feed:
            solara.Text(f"{day:%b %Y}: {text}")
