"""The supply network: a networkx DiGraph built from `sim/data/world.yaml`, and the compressed
route arrays the kernels read.

A route is a path on the graph; what a kernel needs of it is the ordered list of customs posts
it passes, the week offset at which each is reached, its transit time and its cost per kg.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import networkx as nx
import numpy as np

from sim.countries import COUNTRIES
from sim.kernels import layout
from sim.validation import (
    ScenarioError,
    Source,
    check_entries,
    check_keys,
    check_nested,
    choice,
    fail,
    number,
    read_yaml,
    shown,
    text_name,
)

MAKER_MODES = ("mail", "air", "sea")
MAX_TRANSIT_WEEKS = 32   # the pipeline's ring length
FENTANYL_MODES = ("vehicle", "between_ports", "mail")
ENTITY_LISTS = ("customs_posts", "cartels", "maker_regions")
POST_FIELDS = {"traffic_per_week": (float, 0, 1e10), "inspections_per_week": (float, 0, 1e10),
               "detection_prob": (float, 0, 1), "intel": (float, 0, 1)}
CARTEL_FIELDS = {"market_share": (float, 0, 1), "labs": (int, 0, 100_000),
                 "armed_share": (float, 0, 1)}
REGION_FIELDS = {"share": (float, 0, 1)}


def default_world_path() -> Path:
    return Path(str(resources.files("sim") / "data" / "world.yaml"))


NETWORK_LISTS = ("nodes", "edges", "customs_agencies", "cartels", "regulators", "maker_regions")
NODE_KINDS = ("producer_region", "export_hub", "mexican_port", "lab_region", "transit", "us_entry",
              "us_market")
EDGE_MODES = tuple(dict.fromkeys(("domestic", "distribution", *MAKER_MODES, *FENTANYL_MODES)))
AGENCY_COUNTRIES = ("china", "india", "mexico", "us")
EDGE_FIELDS = {"transit_weeks": (int, 0, MAX_TRANSIT_WEEKS - 1), "cost_usd_per_kg": (float, 0, 1e9),
               "share": (float, 0, 1)}


def _node(nodes: dict, kinds=NODE_KINDS, many: bool = False):
    """A node named in the file (of one of `kinds`); with `many`, a name or a list of them."""
    def check(value, source, path):
        names = value if many and isinstance(value, list) and value else [value]
        for name in names:
            if not isinstance(name, str) or name not in nodes:
                fail(source, path, f"unknown node {shown(name)}; expected a node of the file's "
                     f"nodes{' (or a list of them)' if many else ''}")
            if nodes[name]["kind"] not in kinds:
                fail(source, path, f"node '{name}' is a {nodes[name]['kind']}; expected a "
                     f"{' or '.join(kinds)}")
    return check


def _optional_node(nodes: dict, kinds):
    node = _node(nodes, kinds)
    return lambda value, source, path: value is None or node(value, source, path)


def check_network(data: dict, source: Source) -> None:
    """Every list, field, type, range and reference of a network file; errors name the file,
    the line and the key, and say what was expected."""

    check_keys(data, NETWORK_LISTS, source, ())
    optional_share = (False, number(float, 0, 1))
    nodes = {n["name"]: n for n in check_entries(data, "nodes", {
        "name": (True, text_name), "kind": (True, choice(NODE_KINDS)),
        "country": (True, choice(COUNTRIES)), "mode": (False, choice(FENTANYL_MODES)),
        "population_share": optional_share, "pill_share": optional_share,
        "load_size_kg": (False, number(float, 0.01, 1000))}, source)}
    for i, node in enumerate(data["nodes"]):
        if node["kind"] == "us_market" and "population_share" not in node:
            fail(source, ("nodes", i), "missing population_share (every us_market needs one)")
    if not sum(n.get("population_share", 0) for n in nodes.values()) > 0:
        fail(source, ("nodes",), "no us_market node with a population_share above 0")
    ends = _node(nodes, many=True)
    edges = {"from": (True, ends), "to": (True, ends), "mode": (True, choice(EDGE_MODES))}
    edges.update({f: (f != "share", number(*spec)) for f, spec in EDGE_FIELDS.items()})
    check_entries(data, "edges", edges, source)
    post_fields = {"name": (True, _node(nodes)),
                   **{f: (True, number(*spec)) for f, spec in POST_FIELDS.items()}}
    posts: dict = {}
    for i, agency in enumerate(check_entries(data, "customs_agencies", {
            "name": (True, text_name), "country": (True, choice(AGENCY_COUNTRIES)),
            "posts": (True, lambda *_: None)}, source)):
        for j, post in enumerate(check_entries(agency, "posts", post_fields, source,
                                          ("customs_agencies", i))):
            if post["name"] in posts:
                fail(source, ("customs_agencies", i, "posts", j, "name"), f"post '{post['name']}' "
                     f"is also a post of {posts[post['name']]}")
            posts[post["name"]] = agency["name"]
    for i, cartel in enumerate(check_entries(data, "cartels", {
            "name": (True, text_name), "lab_region": (True, _optional_node(nodes, ("lab_region",))),
            "home": (False, _node(nodes, ("us_market",))),
            **{f: (True, number(*spec)) for f, spec in CARTEL_FIELDS.items()}}, source)):
        if cartel["lab_region"] is None and "home" not in cartel:
            fail(source, ("cartels", i), "a cartel with no lab_region (buyers in the US) needs a "
                 "home: a us_market node")
    regulators = check_entries(data, "regulators", {"name": (True, text_name),
                                               "country": (True, choice(COUNTRIES))}, source)
    if "china" not in {r["country"] for r in regulators}:
        fail(source, ("regulators",), "need a regulator with country: china")
    regions = check_entries(data, "maker_regions", {"name": (True, _node(nodes)),
                                               "share": (True, number(*REGION_FIELDS["share"]))},
                       source)
    if not sum(r["share"] for r in regions) > 0:
        fail(source, ("maker_regions",), "every share is 0; makers need a region")


def check_world(world: dict, source: Source) -> None:
    """Build the graph and routes once, so a network file that cannot be run fails at
    validation with its file named, not in the middle of a run: every cartel needs a precursor
    route from a maker region and, with a lab region, a route north to a US entry."""
    path = world.get("file")
    try:
        routes, precursor_route, entry_route, *_ = compile_routes(build_graph(world), world)
    except (KeyError, TypeError, ValueError) as err:
        raise ScenarioError(f"{path}: cannot build the network: {err!r}") from None
    layout.check_route_posts(np.diff(routes.post_ptr), routes.names, path)
    for b, cartel in enumerate(world["cartels"]):
        if not (precursor_route[:, :, b] >= 0).any():
            fail(source, ("cartels", b), f"'{cartel['name']}' has no precursor route from any "
                 f"maker region (edges of mode domestic, {', '.join(MAKER_MODES)})")
        if cartel["lab_region"] and not (entry_route[b] >= 0).any():
            fail(source, ("cartels", b), f"'{cartel['name']}' has no route north from "
                 f"{cartel['lab_region']} to a US entry (edges of mode "
                 f"{', '.join(FENTANYL_MODES)})")
    if routes.transit_weeks.max(initial=0) >= MAX_TRANSIT_WEEKS:
        fail(source, ("edges",), f"a route takes {routes.transit_weeks.max()} weeks; the most "
             f"is {MAX_TRANSIT_WEEKS - 1}")


def _override(entities: list, overrides: dict, fields: dict, source: Source, path: tuple):
    by_name = {e["name"]: e for e in entities}
    checked = check_nested(overrides, {name: fields for name in by_name}, source, path)
    for name, values in checked.items():
        by_name[name].update(values)


def load_world(spec: dict | None, source: Source) -> dict:
    """The default world, or the scenario's `network:` file, with per-entity overrides; both
    checked as strictly as scenario parameters."""
    spec = spec or {}
    if not isinstance(spec, dict):
        fail(source, ("network",), "expected a mapping (file, customs_posts, cartels, "
                                   "maker_regions)")
    check_keys(spec, ("file",) + ENTITY_LISTS, source, ("network",))
    path = default_world_path()
    if "file" in spec:
        path = Path(str(spec["file"]))
        if not path.is_file():
            fail(source, ("network", "file"), f"network file '{spec['file']}' not found (or not "
                 "a regular file)")
    world, world_source = read_yaml(path, "network")
    check_network(world, world_source)
    posts = [p for agency in world["customs_agencies"] for p in agency["posts"]]
    if "customs_posts" in spec:
        _override(posts, spec["customs_posts"], POST_FIELDS, source, ("network", "customs_posts"))
    if "cartels" in spec:
        _override(world["cartels"], spec["cartels"], CARTEL_FIELDS, source, ("network", "cartels"))
    if "maker_regions" in spec:
        _override(world["maker_regions"], spec["maker_regions"], REGION_FIELDS, source,
                  ("network", "maker_regions"))
    world["file"] = str(path)
    check_world(world, world_source)
    return world


def build_graph(world: dict) -> nx.DiGraph:
    """Nodes are ints 0..N-1 (Mesa's Network draws those) with a `name` attribute."""
    graph = nx.DiGraph()
    index = {}
    for i, node in enumerate(world["nodes"]):
        index[node["name"]] = i
        graph.add_node(i, **node)
    for edge in world["edges"]:
        sources = edge["from"] if isinstance(edge["from"], (list, tuple)) else [edge["from"]]
        targets = edge["to"] if isinstance(edge["to"], (list, tuple)) else [edge["to"]]
        attrs = {k: v for k, v in edge.items() if k not in ("from", "to")}
        for a in sources:
            for b in targets:
                if a not in index or b not in index:
                    raise ScenarioError(f"{world.get('file')}: edges: unknown node "
                                        f"'{a if a not in index else b}'")
                graph.add_edge(index[a], index[b], **attrs)
    graph.graph["index"] = index
    return graph


@dataclass
class Routes:
    """Compressed routes: CSR lists of posts with the week each is reached.

    post_ptr[r]:post_ptr[r+1] indexes posts (post ids) and post_offset_weeks of route r.
    transit_weeks[r]: weeks from dispatch to delivery; cost_usd_per_kg[r]: carrying cost.
    """

    names: list[str]
    post_ptr: np.ndarray
    posts: np.ndarray
    post_offset_weeks: np.ndarray
    transit_weeks: np.ndarray
    cost_usd_per_kg: np.ndarray
    node_paths: list[list[int]]


def _path_posts(graph: nx.DiGraph, path: list[int], post_of_node: dict) -> tuple[list, list, int, float]:
    posts, offsets, week, cost = [], [], 0, 0.0
    for a, b in zip(path[:-1], path[1:], strict=True):
        if a in post_of_node and a == path[0]:
            posts.append(post_of_node[a])
            offsets.append(week)
        data = graph.edges[a, b]
        week += int(data["transit_weeks"])
        cost += float(data["cost_usd_per_kg"])
        if b in post_of_node:
            posts.append(post_of_node[b])
            offsets.append(week)
    return posts, offsets, week, cost


def _mode_path(graph: nx.DiGraph, source: int, target: int, modes: set) -> list[int] | None:
    view = nx.subgraph_view(graph, filter_edge=lambda a, b: graph.edges[a, b]["mode"] in modes)
    try:
        return nx.shortest_path(view, source, target, weight="cost_usd_per_kg")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def compile_routes(graph: nx.DiGraph, world: dict):
    """Precursor routes (maker region x shipping mode x buyer) and fentanyl entry routes
    (cartel x US entry), as `Routes` plus lookup tables.

    Returns (routes, precursor_route[region, mode, buyer], entry_route[buyer, entry],
    entry_names, market_share_of_entry[entry, market]).
    """
    index = graph.graph["index"]
    posts = [p["name"] for agency in world["customs_agencies"] for p in agency["posts"]]
    post_of_node = {index[name]: i for i, name in enumerate(posts)}
    regions = [r["name"] for r in world["maker_regions"]]
    buyers = world["cartels"]
    entries = [n["name"] for n in world["nodes"] if n["kind"] == "us_entry"]
    markets = [n["name"] for n in world["nodes"] if n["kind"] == "us_market"]
    names, post_lists, offset_lists, transits, costs, paths = [], [], [], [], [], []

    def add(name, path):
        p, o, t, c = _path_posts(graph, path, post_of_node)
        names.append(name)
        post_lists.append(p)
        offset_lists.append(o)
        transits.append(max(t, 1))
        costs.append(c)
        paths.append(list(path))
        return len(names) - 1

    precursor_route = np.full((len(regions), len(MAKER_MODES), len(buyers)), -1, np.int32)
    for b, buyer in enumerate(buyers):
        target = index[buyer["lab_region"] or buyer["home"]]
        for r, region in enumerate(regions):
            for m, mode in enumerate(MAKER_MODES):
                path = _mode_path(graph, index[region], target, {"domestic", "distribution", mode})
                if path is not None:
                    precursor_route[r, m, b] = add(f"{region}>{mode}>{buyer['name']}", path)
    entry_route = np.full((len(buyers), len(entries)), -1, np.int32)
    for b, buyer in enumerate(buyers):
        if not buyer["lab_region"]:
            continue
        for e, entry in enumerate(entries):
            path = _mode_path(graph, index[buyer["lab_region"]], index[entry],
                              set(FENTANYL_MODES))
            if path is not None:
                entry_route[b, e] = add(f"{buyer['name']}>{entry}", path)
    market_share = np.zeros((len(entries), len(markets)))
    for e, entry in enumerate(entries):
        for _, target, data in graph.out_edges(index[entry], data=True):
            name = graph.nodes[target]["name"]
            if name in markets:
                market_share[e, markets.index(name)] += data.get("share", 0.0)
        total = market_share[e].sum()
        if total <= 0:
            raise ScenarioError(f"{world.get('file')}: edges: US entry '{entry}' has no "
                                "distribution edges to a us_market node")
        market_share[e] /= total
    ptr = np.zeros(len(names) + 1, np.int64)
    ptr[1:] = np.cumsum([len(p) for p in post_lists])
    routes = Routes(
        names=names, post_ptr=ptr,
        posts=np.array([x for p in post_lists for x in p], np.int32),
        post_offset_weeks=np.array([x for o in offset_lists for x in o], np.int32),
        transit_weeks=np.array(transits, np.int32),
        cost_usd_per_kg=np.array(costs, np.float64),
        node_paths=paths,
    )
    return routes, precursor_route, entry_route, entries, market_share


@dataclass
class TradeNetwork:
    """Everything the trade steps look up about the network, compiled once per model.

    routes: the compressed routes; precursor_route[region, mode, buyer] and
    entry_route[buyer, entry]: route ids (-1: none); entry_market_share[entry, market]: how a US
    entry's deliveries spread over the markets it serves; route_owner[route]: the buyer a route
    serves; route_entry[route]: the US entry it crosses (len(entry_names): none);
    route_passes_post[route, post]: 1 where the route passes the post.
    """

    graph: nx.DiGraph
    node_index: dict[str, int]
    routes: Routes
    precursor_route: np.ndarray
    entry_route: np.ndarray
    entry_names: list[str]
    market_names: list[str]
    entry_market_share: np.ndarray
    route_owner: np.ndarray
    route_entry: np.ndarray
    route_passes_post: np.ndarray
    post_names: list[str]


def trade_network(world: dict) -> TradeNetwork:
    """Build the graph and compile its routes and lookups."""
    graph = build_graph(world)
    routes, precursor_route, entry_route, entry_names, entry_market_share = compile_routes(
        graph, world)
    post_names = [p["name"] for a in world["customs_agencies"] for p in a["posts"]]
    n_routes, n_entries = len(routes.names), len(entry_names)
    route_owner = np.zeros(n_routes, np.int64)
    route_entry = np.full(n_routes, n_entries, np.int64)
    for b in range(precursor_route.shape[2]):
        ids = precursor_route[:, :, b]
        route_owner[ids[ids >= 0]] = b
    for b, e in zip(*np.nonzero(entry_route >= 0), strict=True):
        route_owner[entry_route[b, e]] = b
    route_passes_post = np.zeros((n_routes, len(post_names)))
    for r in range(n_routes):
        on_route = routes.posts[routes.post_ptr[r]:routes.post_ptr[r + 1]]
        route_passes_post[r, on_route] = 1.0
        for post in on_route:
            if post_names[post] in entry_names:
                route_entry[r] = entry_names.index(post_names[post])
    return TradeNetwork(
        graph=graph, node_index=graph.graph["index"], routes=routes,
        precursor_route=precursor_route, entry_route=entry_route, entry_names=entry_names,
        market_names=[n["name"] for n in world["nodes"] if n["kind"] == "us_market"],
        entry_market_share=entry_market_share, route_owner=route_owner, route_entry=route_entry,
        route_passes_post=route_passes_post, post_names=post_names)
