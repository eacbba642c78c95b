"""The supply network drawn in layers (a Vega-Lite spec the browser draws), left to right:
Chinese and Indian maker regions -> export hubs -> Mexican ports -> cartels' lab regions ->
northbound highways -> US entry routes -> US markets.

Edge width: this week's goods arriving along routes through the edge (kg of fentanyl, or the
fentanyl its precursor would make). Customs posts are shaded by their share of their agency's
inspections (the agency's learned split) and ringed in red by what they seized this week.
Maker regions are sized by active firms, US markets by people using; regulators are squares
on a row below, with what they control and China's cooperation.
"""

from __future__ import annotations

import numpy as np

from sim.actors.cartels import cartels
from sim.actors.customs import agencies
from sim.actors.regulators import regulators
from sim.classroom.events import display_name
from sim.countries import COUNTRIES
from sim.kernels.users import C_DEATHS

LAYERS = ("producer_region", "export_hub", "mexican_port", "lab_region", "transit", "us_entry",
          "us_market")
LAYER_TITLES = ("makers", "export", "MX ports", "labs", "north", "US entry", "US markets")
# goods arriving along each route this week, in fentanyl (equivalent) kg
ROUTE_FLOWS = ("precursor_delivered_fe", "precursor_seized_fe", "finished_delivered_kg",
               "finished_seized_kg_route", "fentanyl_delivered_kg", "fentanyl_seized_kg_route")
SEIZED_AT_POST = ("precursor_seized_kg", "finished_seized_kg", "fentanyl_seized_kg")


def layered_positions(graph) -> dict[int, tuple[float, float]]:
    """x by layer, y spread evenly within a layer (top to bottom in world-file order)."""
    positions = {}
    for x, kind in enumerate(LAYERS):
        nodes = [n for n, data in graph.nodes(data=True) if data["kind"] == kind]
        for i, node in enumerate(nodes):
            positions[node] = (float(x), 1.0 - (i + 1) / (len(nodes) + 1))
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


def node_labels(model) -> dict[int, str]:
    """Each node's name and the state of the agents on it."""
    graph, index = model.network.graph, model.network.node_index
    labels = {n: display_name(data["name"].removeprefix("cn_").removeprefix("mx_")
                              .removeprefix("in_").removeprefix("us_"))
              for n, data in graph.nodes(data=True)}
    region_names, active = active_firms_by_region(model)
    for r, name in enumerate(region_names):
        labels[index[name]] += f"\n{active[r]} firms"
    shares, seized = inspection_shares(model), post_seized_kg(model)
    for p, name in enumerate(model.posts.names):
        labels[index[name]] += f"\n{shares[p]:.0%} of insp."
        if seized[p] >= 0.5:
            labels[index[name]] += f"\nseized {seized[p]:,.0f} kg"
    for cartel in cartels(model):
        labels[cartel.cell.coordinate] = f"{display_name(cartel.name)}\n{cartel.labs} labs"
    users = model.users
    for m, name in enumerate(model.network.market_names):
        deaths = 0 if users.counts is None else users.counts[C_DEATHS, m] * users.people_per_agent
        labels[index[name]] += (f"\n{users.people_using[m] / 1000:,.0f}k using"
                                f"\n{deaths:,.0f} died")
    return labels


# regulators drawn as squares on a row below the layers, under where they act
REGULATOR_X = {"china": 0.5, "india": 1.5, "mexico": 2.8, "un": 4.0, "us": 5.5}
REGULATOR_ROW_Y = -0.2
GREENS = ("#e5f5e0", "#a1d99b", "#41ab5d", "#006d2c")   # share of an agency's inspections


def regulator_nodes(model) -> list[dict]:
    """Each regulator's square: chemicals it controls; China's cooperation and enforcement."""
    nodes = []
    for regulator in regulators(model):
        name = COUNTRIES[regulator.country]
        controls = int(model.controls.controlled[regulator.country, :-1].sum())
        label = f"{display_name(regulator.name)}\ncontrols {controls}"
        if regulator is model.china:
            label += (f"\ncooperation {model.china.cooperation:.2f}"
                      f"\nenforcement {model.china.enforcement:.2f}")
        nodes.append({"x": REGULATOR_X.get(name, 3.0), "y": REGULATOR_ROW_Y, "label": label})
    return nodes


def _green(share: float) -> str:
    return GREENS[min(len(GREENS) - 1, int(share * len(GREENS)))]


def _axis(field: str, domain: tuple[float, float]) -> dict:
    return {"field": field, "type": "quantitative", "axis": None,
            "scale": {"domain": list(domain)}}


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
        size[index[name]] = 40.0 + 700.0 * active[r] / max(active.max(), 1)
    people = model.users.people_using
    for m, name in enumerate(model.network.market_names):
        size[index[name]] = 40.0 + 700.0 * people[m] / max(people.max(), 1e-9)
    fill = {n: "#cccccc" for n in graph.nodes}
    rings = []
    for p, name in enumerate(model.posts.names):
        node = index[name]
        fill[node] = _green(shares[p])
        if seized[p] > 0:
            rings.append({"x": positions[node][0], "y": positions[node][1],
                          "size": round(250 + 80 * float(np.sqrt(seized[p])), 1)})
    labels, regulators = node_labels(model), regulator_nodes(model)
    nodes = [{"x": positions[n][0], "y": positions[n][1], "size": round(size[n], 1),
              "fill": fill[n], "label": labels[n]} for n in graph.nodes]
    titles = [{"x": float(x), "y": 1.07, "label": title} for x, title in enumerate(LAYER_TITLES)]
    x, y = _axis("x", (-0.6, len(LAYERS) - 0.4)), _axis("y", (REGULATOR_ROW_Y - 0.12, 1.1))
    text = {"type": "text", "fontSize": 9, "baseline": "top", "dy": 8, "lineBreak": "\n"}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 470, "height": 330, "autosize": {"type": "fit", "contains": "padding"},
        "title": {"text": f"Week of {model.date:%d %b %Y}", "fontSize": 12,
                  "subtitle": ["line width: kg of fentanyl (or its precursor's yield) arriving "
                               "this week", "green: share of the agency's inspections (insp.);"
                               " red rings: seizures; purple: regulators"]},
        "layer": [
            {"data": {"values": edges}, "mark": {"type": "rule", "opacity": 0.5},
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                          "strokeWidth": {"field": "width", "type": "quantitative",
                                          "scale": None},
                          "color": {"field": "goods", "type": "nominal", "title": None,
                                    "scale": {"domain": ["chemicals", "fentanyl"],
                                              "range": ["#1f77b4", "#d62728"]},
                                    "legend": {"orient": "bottom-right"}},
                          "tooltip": [{"field": "kg", "title": "kg this week"}]}},
            {"data": {"values": nodes}, "mark": {"type": "circle", "opacity": 1,
                                                  "stroke": "#555", "strokeWidth": 0.7},
             "encoding": {"x": x, "y": y,
                          "size": {"field": "size", "type": "quantitative", "scale": None},
                          "color": {"field": "fill", "type": "nominal", "scale": None}}},
            {"data": {"values": rings}, "mark": {"type": "point", "shape": "circle",
                                                  "stroke": "red", "strokeWidth": 1.8},
             "encoding": {"x": x, "y": y,
                          "size": {"field": "size", "type": "quantitative", "scale": None}}},
            {"data": {"values": nodes + regulators}, "mark": text,
             "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
            {"data": {"values": regulators},
             "mark": {"type": "square", "size": 160, "color": "#7b4173", "opacity": 1},
             "encoding": {"x": x, "y": y}},
            {"data": {"values": titles},
             "mark": {"type": "text", "fontSize": 11, "fontWeight": "bold"},
             "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
        ],
        "config": {"view": {"stroke": None}},
    }
