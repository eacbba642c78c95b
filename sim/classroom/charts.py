"""The dashboard's live charts, as a Vega-Lite spec drawn by the browser (Solara's VegaLite
widget): this run's weekly series over the scenario's own run without the levers (a faint
reference line), on the scenario's whole time axis so students see the run advance.

The server only builds a small JSON spec each step; drawing happens in the browser, which keeps
a step under the 200 ms budget where a matplotlib redraw of six panels would not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics import drawn

SMOOTH_WEEKS = 13   # rolling mean: at classroom size weekly deaths are a handful of agents
EVERY_WEEKS = 4     # one point per 4 weeks: enough after smoothing, and a small spec
WEEKS_PER_YEAR = 52.1775
RUN_COLOR, REFERENCE_COLOR = "#c0392b", "#9a9a9a"
PANEL_W, PANEL_H = 190, 62   # px: three panels a row fit the page's 800 px at 1280x800
ROUTE_PANEL_W = 120          # the route chart leaves room for its legend
# how the browser draws the specs: SVG (what the page's tests read), no export menu
USERMETA = {"embedOptions": {"renderer": "svg", "actions": False}}

# (column, title, scale to real-world units per year where summed)
CHARTS = (
    ("overdose_deaths", "Overdose deaths a year (- - fentanyl)", WEEKS_PER_YEAR),
    ("fentanyl_to_us_kg", "Fentanyl to US retail (kg a year)", WEEKS_PER_YEAR),
    ("fentanyl_seized_kg", "Seized by the US (kg a year)", WEEKS_PER_YEAR),
    ("retail_price_usd_per_mg", "Retail price (US$ per mg)", 1.0),
    ("china_cooperation", "China's cooperation (0-1)", 1.0),
)


def smooth(values: np.ndarray, weeks: int = SMOOTH_WEEKS) -> np.ndarray:
    """Trailing mean over up to `weeks` weeks (shorter at the start)."""
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    n = np.arange(1, values.size + 1)
    width = np.minimum(n, weeks)
    return (cumulative[n] - cumulative[n - width]) / width


def thinned(first_year: float, values: np.ndarray, scale: float = 1.0):
    """(decimal years, smoothed values x scale) every `EVERY_WEEKS` weeks and the last week."""
    if not values.size:
        return np.empty(0), np.empty(0)
    weeks = np.unique(np.r_[np.arange(0, values.size, EVERY_WEEKS), values.size - 1])
    return first_year + weeks / WEEKS_PER_YEAR, smooth(values)[weeks] * scale


def start_year(model) -> float:
    start = model.scenario.start
    return start.year + (start.timetuple().tm_yday - 1) / 365.25


def _points(years: np.ndarray, values: np.ndarray, **fields) -> list[dict]:
    return [{"year": round(float(x), 3), "value": float(f"{v:.4g}"), **fields}
            for x, v in zip(years, values, strict=True)]


def _x_years(domain: tuple[float, float]) -> dict:
    """The shared time axis: decimal years over the scenario's horizon."""
    return {"field": "year", "type": "quantitative", "title": None,
            "scale": {"domain": list(domain), "nice": False},
            "axis": {"format": "d", "tickCount": 4}}


SOLID_DASH, DASHED_DASH = [1, 0], [4, 3]   # a column's line, and its part's (`sim.metrics.drawn`)


def _panel(title: str, values: list[dict], domain: tuple[float, float], now: float) -> dict:
    """A line per run (this run, the reference) and per `series` where the points have one
    (solid the first series, dashed the second)."""
    x = _x_years(domain)
    series = list(dict.fromkeys(v["series"] for v in values if "series" in v))
    dash = ({"strokeDash": {"field": "series", "type": "nominal", "legend": None,
                            "scale": {"domain": series, "range": [SOLID_DASH, DASHED_DASH]}}}
            if len(series) > 1 else {})
    return {
        "title": {"text": title, "fontSize": 11},
        "width": PANEL_W, "height": PANEL_H,
        "layer": [
            {"data": {"values": values}, "mark": {"type": "line", "strokeWidth": 1.8},
             "encoding": {"x": x, "y": {"field": "value", "type": "quantitative", "title": None},
                          "color": {"field": "run", "type": "nominal", "title": None,
                                    "scale": {"domain": ["this run", "without your levers"],
                                              "range": [RUN_COLOR, REFERENCE_COLOR]},
                                    "legend": None}, **dash}},
            {"data": {"values": [{"year": now}]}, "mark": {"type": "rule", "strokeDash": [3, 3],
                                                            "color": "#444"},
             "encoding": {"x": {"field": "year", "type": "quantitative"}}},
        ],
    }


def _route_panel(model, first: float, domain: tuple[float, float]) -> dict:
    """Stacked shares of fentanyl sent north by US entry route (13-week mean)."""
    values, routes = [], [name.replace("_", " ").title() for name in model.network.entry_names]
    for name, route in zip(model.network.entry_names, routes, strict=True):
        years, shares = thinned(first, model.recorder.series(f"route_share_{name}"))
        values += _points(years, shares, route=route)
    x = _x_years(domain)
    return {
        "title": {"text": "Where fentanyl crosses", "fontSize": 11},
        "width": ROUTE_PANEL_W, "height": PANEL_H, "data": {"values": values},
        "mark": {"type": "area"},
        "encoding": {"x": x,
                     "y": {"field": "value", "type": "quantitative", "stack": "normalize",
                           "title": None},
                     # the domain keeps the legend (and so the chart) drawable before week 1
                     "color": {"field": "route", "type": "nominal", "title": None,
                               "scale": {"domain": routes},
                               "legend": {"orient": "right", "labelFontSize": 9, "symbolSize": 40,
                                          "rowPadding": 0, "labelLimit": 80}}},
    }


def charts_spec(model, reference: pd.DataFrame | None) -> dict:
    """A Vega-Lite spec: five series against the reference, and the route shares."""
    first = start_year(model)
    domain = (first, first + model.scenario.weeks / WEEKS_PER_YEAR)
    now = first + model.recorder.rows / WEEKS_PER_YEAR
    panels = []
    for column, title, scale in CHARTS:
        values, columns = [], drawn(column)
        for series in columns:
            named = {"series": series} if len(columns) > 1 else {}
            values += _points(*thinned(first, model.recorder.series(series), scale),
                              run="this run", **named)
            if reference is not None:
                values += _points(*thinned(first, reference[series].to_numpy(), scale),
                                  run="without your levers", **named)
        panels.append(_panel(title, values, domain, now))
    panels.append(_route_panel(model, first, domain))
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "concat": panels, "columns": 3, "spacing": {"row": 6, "column": 14},
            "padding": 2,
            "resolve": {"scale": {"y": "independent", "color": "independent"}},
            "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 9}},
            "usermeta": USERMETA}
