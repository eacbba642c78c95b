"""The supply network drawn in layers (a Vega-Lite spec the browser draws), left to right:
Chinese and Indian maker regions -> export hubs -> Mexican ports -> cartels' lab regions ->
northbound highways -> US entry routes -> US markets; the regulators on a row below.

Everything is placed in pixels here, labels included, so that no two labels overlap
(`label_boxes` checks it): each node carries a short name (wrapped to its column), and its
state is in a tooltip (a customs post: inspections and seizures; a cartel: labs, stock, routes
and armed strength; China: cooperation and enforcement).

Edge width: this week's goods arriving along routes through the edge (kg of fentanyl, or the
fentanyl its precursor would make). Customs posts are shaded by their share of their agency's
inspections (the agency's learned split) and ringed in red by what they seized this week.
Maker regions are sized by active firms, US markets by people using.

This module and `sim.classroom.teams` are the only places the classroom reads the model's
agents (cartels, customs, regulators, makers, users).
"""

from __future__ import annotations

import textwrap

import numpy as np

from sim.actors.cartels import cartels
from sim.actors.customs import agencies
from sim.actors.regulators import regulators
from sim.classroom.charts import USERMETA
from sim.classroom.events import display_name
from sim.countries import COUNTRIES
from sim.kernels.users import C_DEATHS

LAYERS = ("producer_region", "export_hub", "mexican_port", "lab_region", "transit", "us_entry",
          "us_market")
LAYER_TITLES = ("Makers", "Export hubs", "Mexican ports", "Cartels' labs", "Highways north",
                "US entry", "US markets")
# goods arriving along each route this week, in fentanyl (equivalent) kg
ROUTE_FLOWS = ("precursor_delivered_fe", "precursor_seized_fe", "finished_delivered_kg",
               "finished_seized_kg_route", "fentanyl_delivered_kg", "fentanyl_seized_kg_route")
SEIZED_AT_POST = ("precursor_seized_kg", "finished_seized_kg", "fentanyl_seized_kg")

# the drawing, in pixels (the page gives it this room at 1280x800)
WIDTH, HEIGHT = 800, 440
TOP = 26              # below the column titles
REGULATOR_ROW = 40    # the regulators' row at the bottom
FONT_SIZE, TITLE_SIZE = 11, 12
CHAR_W = 0.62 * FONT_SIZE    # a generous average glyph width (label boxes)
LINE_H = FONT_SIZE + 2
MAX_AREA = 600.0      # largest circle's area (px^2)
NODE_R = (MAX_AREA / np.pi) ** 0.5
COLUMN_W = WIDTH / len(LAYERS)
LABEL_CHARS = int((COLUMN_W - 8) / CHAR_W)
REGULATOR_ORDER = ("china", "india", "mexico", "un", "us")   # left to right, evenly
GREENS = ("#e5f5e0", "#a1d99b", "#41ab5d", "#006d2c")   # share of an agency's inspections
PREFIXES = {"cn": "CN", "in": "IN", "mx": "MX", "us": "US"}


def short_names(names: list[str]) -> list[str]:
    """Names for people without the country prefix, unless two would then read the same
    ('cn_sea_ports', 'in_sea_ports' -> 'CN Sea Ports', 'IN Sea Ports')."""
    bare = [n.split("_", 1)[1] if n.split("_", 1)[0] in PREFIXES and "_" in n else n
            for n in names]
    return [display_name(name if bare.count(b) > 1 else b) for name, b in zip(names, bare,
                                                                              strict=True)]


def layered_positions(graph) -> dict[int, tuple[float, float]]:
    """Pixel centres: x by layer, y spread evenly within a layer (world-file order)."""
    positions = {}
    room = HEIGHT - TOP - REGULATOR_ROW
    for column, kind in enumerate(LAYERS):
        nodes = [n for n, data in graph.nodes(data=True) if data["kind"] == kind]
        for i, node in enumerate(nodes):
            positions[node] = ((column + 0.5) * COLUMN_W, TOP + (i + 0.25) * room / len(nodes))
    return positions


def edge_flows_kg(model) -> dict[tuple[int, int], float]:
    """kg arriving this week along the routes through each edge, and on from each US entry to
    the markets it serves (0 before the first step)."""
    network = model.network
    flows = {edge: 0.0 for edge in network.graph.edges}
    out = model.week_outcome
    if out is None:
        return flows
    by_route = sum(getattr(out, name) for name in ROUTE_FLOWS)
    entries = [network.node_index[name] for name in network.entry_names]
    markets = [network.node_index[name] for name in network.market_names]
    for route, path in enumerate(network.routes.node_paths):
        if by_route[route] > 0:
            for edge in zip(path[:-1], path[1:], strict=True):
                flows[edge] += float(by_route[route])
        if path[-1] in entries:   # a cartel's load goes on to markets, by the entry's shares
            e = entries.index(path[-1])
            for m, share in enumerate(network.entry_market_share[e]):
                if share > 0:
                    flows[path[-1], markets[m]] += float(out.fentanyl_delivered_kg[route] * share)
    return flows


def post_seized_kg(model) -> np.ndarray:
    """kg of goods seized this week at each customs post."""
    out = model.week_outcome
    if out is None:
        return np.zeros(len(model.posts))
    return sum(getattr(out, name) for name in SEIZED_AT_POST)


def inspection_shares(model) -> np.ndarray:
    """Each post's share of its agency's inspections (the learned split)."""
    shares = np.zeros(len(model.posts))
    for agency in agencies(model):
        pool = model.posts.inspections[agency.posts]
        shares[agency.posts] = pool / max(pool.sum(), 1e-12)
    return shares


def active_firms_by_region(model) -> tuple[list[str], np.ndarray]:
    """Maker region names and the active firms in each."""
    names = [r["name"] for r in model.scenario.world["maker_regions"]]
    return names, np.bincount(model.makers.region[model.makers.active == 1], minlength=len(names))


def node_info(model) -> dict[int, dict[str, str]]:
    """Each node's name and the state of the agents on it, for its tooltip ("title" heads
    it)."""
    graph, index = model.network.graph, model.network.node_index
    nodes = list(graph.nodes)
    names = short_names([graph.nodes[n]["name"] for n in nodes])
    info = {n: {"title": name} for n, name in zip(nodes, names, strict=True)}
    region_names, active = active_firms_by_region(model)
    for r, name in enumerate(region_names):
        info[index[name]]["active precursor firms"] = f"{active[r]:,}"
    shares, seized = inspection_shares(model), post_seized_kg(model)
    for agency in agencies(model):
        for p in agency.posts:
            node = info[index[model.posts.names[p]]]
            node["customs"] = display_name(agency.name)
            node["inspections"] = (f"{model.posts.inspections[p]:,.0f} a week "
                                   f"({shares[p]:.0%} of the agency's)")
            node["seized this week"] = f"{seized[p]:,.1f} kg"
    guns_per_unit = model.params["cartels"]["guns_per_strength_unit"]
    for cartel in cartels(model):
        split = sorted(zip(cartel.route_split, model.network.entry_names, strict=True),
                       reverse=True)
        info[cartel.cell.coordinate] = {
            "title": display_name(cartel.name), "labs": f"{cartel.labs}",
            "fentanyl in stock": f"{cartel.fentanyl_stock_kg:,.0f} kg",
            "precursor in stock": f"{cartel.precursor_stock_kg:,.0f} kg (fentanyl it makes)",
            "routes north": ", ".join(f"{display_name(e)} {s:.0%}" for s, e in split[:3] if s > 0),
            "armed strength": f"{cartel.armed_strength:.2f} (1 = {guns_per_unit:,.0f} guns a year)"}
    users = model.users
    for m, name in enumerate(model.network.market_names):
        deaths = 0 if users.counts is None else users.counts[C_DEATHS, m] * users.people_per_agent
        info[index[name]]["people using"] = f"{users.people_using[m]:,.0f}"
        info[index[name]]["died this week"] = f"{deaths:,.0f}"
    return info


def regulator_nodes(model) -> list[dict]:
    """Each regulator's square: chemicals it controls; China's cooperation and enforcement."""
    nodes = []
    for regulator in regulators(model):
        name = COUNTRIES[regulator.country]
        controlled = int(model.controls.controlled[regulator.country, :-1].sum())
        info = {"title": display_name(regulator.name), "chemicals controlled": f"{controlled}"}
        label = [display_name(name)]
        if regulator is model.china:
            info["cooperation with the US"] = f"{model.china.cooperation:.2f} (0-1)"
            info["enforcement"] = f"{model.china.enforcement:.2f} (0-1)"
            label.append(f"cooperation {model.china.cooperation:.2f}")
        x, y = regulator_position(name)
        nodes.append({"x": x, "y": y, "info": info, "label": label})
    return nodes


def regulator_position(country: str) -> tuple[float, float]:
    """A regulator's square, in pixels: on the bottom row, evenly, in `REGULATOR_ORDER`."""
    slot = REGULATOR_ORDER.index(country) if country in REGULATOR_ORDER else len(REGULATOR_ORDER)
    return round((slot + 0.15) * WIDTH / (len(REGULATOR_ORDER) + 1), 1), HEIGHT - REGULATOR_ROW / 2


def wrap(text: str) -> list[str]:
    """A label's lines, each within its column."""
    return textwrap.wrap(text, LABEL_CHARS) or [""]


def label_boxes(spec: dict) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of every text in the network spec, in pixels, with a generous
    glyph width: the layout promises that none overlap and all are inside the drawing."""
    boxes = []
    for layer in spec["layer"]:
        mark = layer["mark"]
        if mark.get("type") != "text":
            continue
        size, align = mark.get("fontSize", FONT_SIZE), mark.get("align", "center")
        for row in layer["data"]["values"]:
            lines = row["text"] if isinstance(row["text"], list) else [row["text"]]
            width = max(len(line) for line in lines) * 0.62 * size
            left = {"left": row["x"], "center": row["x"] - width / 2}[align]
            boxes.append((left, row["y"], left + width, row["y"] + len(lines) * (size + 2)))
    return boxes


def _green(share: float) -> str:
    return GREENS[min(len(GREENS) - 1, int(share * len(GREENS)))]


def _pixels(field: str, size: float) -> dict:
    return {"field": field, "type": "quantitative", "axis": None,
            "scale": {"domain": [0, size], "range": [0, size], "nice": False, "zero": False}}


def network_spec(model) -> dict:
    """A Vega-Lite spec of the layered network this week (drawn by the browser)."""
    graph, index = model.network.graph, model.network.node_index
    positions = layered_positions(graph)
    flows = edge_flows_kg(model)
    biggest = max(max(flows.values()), 1e-9)
    edges = [{"x": positions[a][0], "y": positions[a][1], "x2": positions[b][0],
              "y2": positions[b][1], "width": round(0.5 + 9.0 * flows[a, b] / biggest, 2),
              "goods": "chemicals" if graph.nodes[a]["kind"] in LAYERS[:3] else "fentanyl",
              "kg": round(flows[a, b], 2)} for a, b in graph.edges]
    shares, seized = inspection_shares(model), post_seized_kg(model)
    region_names, active = active_firms_by_region(model)
    size = {n: 150.0 for n in graph.nodes}
    for r, name in enumerate(region_names):
        size[index[name]] = 40.0 + (MAX_AREA - 40) * active[r] / max(active.max(), 1)
    people = model.users.people_using
    for m, name in enumerate(model.network.market_names):
        size[index[name]] = 40.0 + (MAX_AREA - 40) * people[m] / max(people.max(), 1e-9)
    fill = {n: "#cccccc" for n in graph.nodes}
    rings = []
    for p, name in enumerate(model.posts.names):
        node = index[name]
        fill[node] = _green(shares[p])
        if seized[p] > 0:
            rings.append({"x": positions[node][0], "y": positions[node][1],
                          "size": round(min(250 + 80 * float(np.sqrt(seized[p])), 900), 1)})
    info, regulators = node_info(model), regulator_nodes(model)
    nodes = [{"x": positions[n][0], "y": positions[n][1], "size": round(size[n], 1),
              "fill": fill[n], "info": info[n]} for n in graph.nodes]
    labels = [{"x": positions[n][0], "y": positions[n][1] + NODE_R + 1,
               "text": wrap(info[n]["title"])} for n in graph.nodes]
    titles = [{"x": (column + 0.5) * COLUMN_W, "y": 2, "text": title}
              for column, title in enumerate(LAYER_TITLES)]
    regulator_labels = [{"x": r["x"] + 12, "y": r["y"] - len(r["label"]) * LINE_H / 2,
                         "text": r["label"]} for r in regulators]
    x, y = _pixels("x", WIDTH), _pixels("y", HEIGHT)
    tooltip = {"expr": "datum.info"}
    text = {"type": "text", "fontSize": FONT_SIZE, "baseline": "top", "align": "center",
            "lineHeight": LINE_H}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": WIDTH, "height": HEIGHT, "autosize": {"type": "none"}, "padding": 0,
        "layer": [
            {"data": {"values": edges}, "mark": {"type": "rule", "opacity": 0.5},
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                          "strokeWidth": {"field": "width", "type": "quantitative",
                                          "scale": None},
                          "color": {"field": "goods", "type": "nominal", "legend": None,
                                    "scale": {"domain": ["chemicals", "fentanyl"],
                                              "range": ["#1f77b4", "#d62728"]}},
                          "tooltip": [{"field": "goods", "title": "goods"},
                                      {"field": "kg", "title": "kg this week"}]}},
            {"data": {"values": rings}, "mark": {"type": "point", "shape": "circle",
                                                  "stroke": "red", "strokeWidth": 1.8},
             "encoding": {"x": x, "y": y,
                          "size": {"field": "size", "type": "quantitative", "scale": None}}},
            {"data": {"values": nodes}, "mark": {"type": "circle", "opacity": 1,
                                                  "stroke": "#555", "strokeWidth": 0.7,
                                                  "tooltip": tooltip, "cursor": "pointer"},
             "encoding": {"x": x, "y": y,
                          "size": {"field": "size", "type": "quantitative", "scale": None},
                          "color": {"field": "fill", "type": "nominal", "scale": None}}},
            {"data": {"values": regulators},
             "mark": {"type": "square", "size": 180, "color": "#7b4173", "opacity": 1,
                      "tooltip": tooltip, "cursor": "pointer"},
             "encoding": {"x": x, "y": y}},
            {"data": {"values": labels}, "mark": text,
             "encoding": {"x": x, "y": y, "text": {"field": "text"}}},
            {"data": {"values": regulator_labels},
             "mark": {**text, "align": "left"},
             "encoding": {"x": x, "y": y, "text": {"field": "text"}}},
            {"data": {"values": titles},
             "mark": {**text, "fontSize": TITLE_SIZE, "fontWeight": "bold"},
             "encoding": {"x": x, "y": y, "text": {"field": "text"}}},
        ],
        "config": {"view": {"stroke": None}},
        "usermeta": USERMETA,
    }
