"""The supply network drawn in layers, left to right: Chinese and Indian maker regions ->
export hubs -> Mexican ports -> cartels' lab regions -> northbound highways -> US entry routes
-> US markets.

Edge width: this week's goods arriving along routes through the edge (kg of fentanyl, or the
fentanyl its precursor would make). Customs posts are shaded by their share of their agency's
inspections (the agency's learned split) and ringed in red by what they seized this week.
Maker regions are sized by active firms, US markets by people using; regulators' state is
written below the graph.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from sim.classroom.events import display_name
from sim.kernels.users import C_DEATHS
from sim.populations import COUNTRIES

LAYERS = ("producer_region", "export_hub", "mexican_port", "lab_region", "transit", "us_entry",
          "us_market")
LAYER_TITLES = ("maker regions", "export hubs", "Mexican ports", "cartel labs", "highways north",
                "US entry routes", "US markets")
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
    flows = {edge: 0.0 for edge in model.graph.edges}
    out = model.week_outcome
    if out is None:
        return flows
    by_route = sum(getattr(out, name) for name in ROUTE_FLOWS)
    entries = [model.node_index[name] for name in model.entry_names]
    markets = [model.node_index[name] for name in model.market_names]
    for route, path in enumerate(model.routes.node_paths):
        if by_route[route] > 0:
            for edge in zip(path[:-1], path[1:], strict=True):
                flows[edge] += float(by_route[route])
        if path[-1] in entries:   # a cartel's load goes on to markets, by the entry's shares
            e = entries.index(path[-1])
            for m, share in enumerate(model.entry_market_share[e]):
                if share > 0:
                    flows[path[-1], markets[m]] += float(out.fentanyl_delivered_kg[route] * share)
    return flows


def post_seized_kg(model) -> np.ndarray:
    """kg of goods seized this week at each customs post."""
    out = model.week_outcome
    if out is None:
        return np.zeros(len(model.post_names))
    return sum(getattr(out, name) for name in SEIZED_AT_POST)


def inspection_shares(model) -> np.ndarray:
    """Each post's share of its agency's inspections (the learned split)."""
    shares = np.zeros(len(model.post_names))
    for agency in model.customs:
        pool = model.post_inspections[agency.posts]
        shares[agency.posts] = pool / max(pool.sum(), 1e-12)
    return shares


def active_firms_by_region(model) -> tuple[list[str], np.ndarray]:
    """Maker region names and the active firms in each."""
    names = [r["name"] for r in model.scenario.world["maker_regions"]]
    return names, np.bincount(model.makers.region[model.makers.active == 1], minlength=len(names))


def node_labels(model) -> dict[int, str]:
    """Each node's name and the state of the agents on it."""
    graph, index = model.graph, model.node_index
    labels = {n: display_name(data["name"].removeprefix("cn_").removeprefix("mx_")
                              .removeprefix("in_").removeprefix("us_"))
              for n, data in graph.nodes(data=True)}
    region_names, active = active_firms_by_region(model)
    for r, name in enumerate(region_names):
        labels[index[name]] += f"\n{active[r]} firms"
    shares, seized = inspection_shares(model), post_seized_kg(model)
    for p, name in enumerate(model.post_names):
        labels[index[name]] += f"\n{shares[p]:.0%} of insp."
        if seized[p] >= 0.5:
            labels[index[name]] += f"\nseized {seized[p]:,.0f} kg"
    for cartel in model.cartels:
        if not cartel.in_us:
            labels[cartel.cell.coordinate] = f"{display_name(cartel.name)}\n{cartel.labs} labs"
    counts = model.week_user_counts
    for m, name in enumerate(model.market_names):
        deaths = 0 if counts is None else counts[C_DEATHS, m] * model.people_per_agent
        labels[index[name]] += (f"\n{model.people_using[m] / 1000:,.0f}k using"
                                f"\n{deaths:,.0f} died")
    return labels


def regulator_text(model) -> str:
    """One line per regulator: chemicals it controls; China's cooperation and enforcement."""
    lines = []
    for country, regulator in model.regulators.items():
        controlled = int(model.controlled[country, :-1].sum())
        line = (f"{display_name(regulator.name)} ({display_name(COUNTRIES[country])}): "
                f"controls {controlled}")
        if regulator is model.china:
            line += (f" · cooperation with US {model.china_cooperation:.2f}"
                     f" · enforcement {model.china_enforcement:.2f}")
        lines.append(line)
    return "\n".join(lines)


def draw_network(model) -> Figure:
    """The layered network for this week."""
    graph = model.graph
    positions = layered_positions(graph)
    fig = Figure(figsize=(9.0, 6.0), dpi=80)
    ax = fig.add_axes((0.0, 0.17, 1.0, 0.8))
    ax.set_axis_off()
    flows = edge_flows_kg(model)
    biggest = max(max(flows.values()), 1e-9)
    segments = [(positions[a], positions[b]) for a, b in graph.edges]
    widths = [0.4 + 7.0 * flows[edge] / biggest for edge in graph.edges]
    colors = ["tab:blue" if graph.nodes[a]["kind"] in LAYERS[:3] else "tab:red"
              for a, _ in graph.edges]
    ax.add_collection(LineCollection(segments, linewidths=widths, colors=colors, alpha=0.45))
    shares = inspection_shares(model)
    shade = colormaps["Greens"]
    post_nodes = [model.node_index[name] for name in model.post_names]
    region_names, active = active_firms_by_region(model)
    size = {n: 120.0 for n in graph.nodes}
    for r, name in enumerate(region_names):
        size[model.node_index[name]] = 40.0 + 600.0 * active[r] / max(active.max(), 1)
    for m, name in enumerate(model.market_names):
        size[model.node_index[name]] = 40.0 + 600.0 * model.people_using[m] / max(
            model.people_using.max(), 1e-9)
    color = {n: "0.8" for n in graph.nodes}
    for p, node in enumerate(post_nodes):
        color[node] = shade(0.25 + 0.75 * shares[p])
    nodes = list(graph.nodes)
    xy = np.array([positions[n] for n in nodes])
    ax.scatter(xy[:, 0], xy[:, 1], s=[size[n] for n in nodes], c=[color[n] for n in nodes],
               edgecolors="0.3", linewidths=0.6, zorder=3)
    seized = post_seized_kg(model)
    hit = seized > 0
    if hit.any():
        spots = np.array([positions[post_nodes[p]] for p in np.flatnonzero(hit)])
        ax.scatter(spots[:, 0], spots[:, 1], s=150 + 60 * np.sqrt(seized[hit]),
                   facecolors="none", edgecolors="red", linewidths=1.5, zorder=4)
    for node, text in node_labels(model).items():
        x, y = positions[node]
        ax.annotate(text, (x, y), xytext=(0, -8), textcoords="offset points", ha="center",
                    va="top", fontsize=7.5, linespacing=1.0, zorder=5)
    for x, title in enumerate(LAYER_TITLES):
        ax.text(x, 1.02, title, ha="center", va="bottom", fontsize=8.5, weight="bold")
    ax.set_xlim(-0.6, len(LAYERS) - 0.4)
    ax.set_ylim(-0.08, 1.08)
    fig.text(0.01, 0.01, regulator_text(model), fontsize=7.5, va="bottom")
    fig.text(0.99, 0.01, f"week of {model.date:%d %b %Y}\nline width: kg of fentanyl (or its "
             "precursor's yield) arriving\nblue: chemicals, red: fentanyl; green: share of the "
             "agency's\ninspections (insp.); red rings: seizures this week", fontsize=7.5,
             ha="right", va="bottom")
    return fig
