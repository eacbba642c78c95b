"""Policy base class, registry, YAML validation and the weekly levers policies act on."""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import MISSING, dataclass, field, fields

import numpy as np

from sim.countries import COUNTRIES
from sim.events import POLICY_END, POLICY_START, Event
from sim.validation import Source, check_keys, check_number, fail, parse_date, suggest

POLICY_TYPES: dict[str, type[Policy]] = {}


def register(name: str):
    """Class decorator: make a policy available as YAML `type: name`."""

    def wrap(cls):
        cls.type_name = name
        POLICY_TYPES[name] = cls
        return cls

    return wrap


def spec(default=MISSING, low=None, high=None, choices=None, unit="", doc=""):
    """A policy field as YAML sees it: default, range or choices, unit and meaning."""
    meta = {"low": low, "high": high, "choices": choices, "unit": unit, "doc": doc}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Levers:
    """This week's policy-adjustable parameters: the scenario's parameters (`from_params`) as
    each active policy modifies them (`policies_week`). Units as in `sim.params`."""

    post_inspections_multiplier: np.ndarray  # per customs post, x inspections
    post_intel_bonus: np.ndarray             # per customs post, added to intel (0-1)
    post_pinned_inspections: np.ndarray      # per customs post, inspections added in place
    post_scan_share: np.ndarray              # per customs post, share of traffic scanned (0-1)
    maker_raid_multiplier: np.ndarray        # per country (populations.COUNTRIES), x raid rate
    link_cut_prob: np.ndarray                # per country, 1/week: cartel links to makers cut
    supplier_raid_rate: np.ndarray           # per country, 1/week: raids on makers that supply
    intel_sharing_weight: np.ndarray         # per country: weight of partners' seizures
    mexico_enforcement: float                # 0-1
    guns_south_per_year: float               # firearms/year
    naloxone_coverage: float                 # share of overdoses given naloxone
    treatment_capacity_people: float         # people
    cooperation_shift: float = 0.0           # added to China's cooperation target
    cooperation_cap: float = 1.0             # upper bound on China's cooperation target
    china_enforcement_bonus: float = 0.0     # added to China's enforcement (0-1)
    online_raid_multiplier: float = 1.0      # x raids on online sellers
    online_delist_hazard: float = 0.0        # 1/week: online listings taken down
    sanction_capacity_loss: float = 0.0      # share of a sanctioned firm's capacity lost
    relist_hazard: float = 0.0               # 1/week: sanctioned firms re-registering
    objected_sanctions: int = 0              # sanctions China conditions cooperation on
    lab_raid_multiplier: float = 1.0         # x Mexican lab raid attempts
    treatment_entry_multiplier: float = 1.0  # x weekly chance of entering treatment
    initiation_multiplier: float = 1.0       # x people starting to use
    supplier_search_multiplier: float = 1.0  # x cartels' supplier search rate

    @classmethod
    def from_params(cls, params: dict, n_posts: int) -> Levers:
        users, cartels = params["users"], params["cartels"]
        n_countries = len(COUNTRIES)
        return cls(post_inspections_multiplier=np.ones(n_posts),
                   post_intel_bonus=np.zeros(n_posts),
                   post_pinned_inspections=np.zeros(n_posts),
                   post_scan_share=np.zeros(n_posts),
                   maker_raid_multiplier=np.ones(n_countries),
                   link_cut_prob=np.zeros(n_countries),
                   supplier_raid_rate=np.zeros(n_countries),
                   intel_sharing_weight=np.zeros(n_countries),
                   mexico_enforcement=cartels["mexico_enforcement"],
                   guns_south_per_year=cartels["guns_south_per_year"],
                   naloxone_coverage=users["naloxone_coverage"],
                   treatment_capacity_people=users["treatment_capacity_people"])


@dataclass
class Policy:
    """A dated intervention. Subclasses declare their YAML fields with `spec` and override
    `on_start` / `on_end` (state changes, e.g. listing chemicals) and `modify` (weekly levers,
    from the policy's fields and the model's fixed parameters and world; a `modify` that reads
    anything else sets `modify_reads_state`)."""

    start: dt.date = spec(doc="first day; active from the week that contains it")
    end: dt.date | None = spec(None, doc="last day (exclusive); null = never ends")
    id: str | None = spec(None, doc="name a child scenario can replace or drop it by")
    enabled: bool = spec(True, doc="false drops the policy")
    label: str | None = spec(None, doc="text shown on plots")
    start_week: int = field(default=0, init=False, repr=False)
    end_week: int | None = field(default=None, init=False, repr=False)
    type_name: typing.ClassVar[str] = ""
    order: typing.ClassVar[int] = 5  # levers are modified in this order (sanctions before deals)
    story: typing.ClassVar[str] = ""   # what it does, in plain words for a classroom
    # whether `modify` reads what changes during a run (the model's state, the week): the
    # levers are then rebuilt every week while the policy is active, else only in the weeks the
    # active policies change (`policies_week`)
    modify_reads_state: typing.ClassVar[bool] = False

    def active(self, week: int) -> bool:
        return week >= self.start_week and (self.end_week is None or week < self.end_week)

    def describe(self) -> str:
        return self.label or f"{self.type_name} ({self.start.isoformat()})"

    def setup(self, model) -> None:
        """Check the policy against the model's world; called once when the model is built."""

    def on_start(self, model) -> None:
        """State changes in the week the policy starts."""

    def on_end(self, model) -> None:
        """State changes in the week the policy ends."""

    def modify(self, levers: Levers, model) -> None:
        """Adjust this week's levers while the policy is active."""


def _policy_fields(cls):
    return {f.name: f for f in fields(cls) if f.init}


def _check_value(value, f, source: Source, path: tuple):
    meta, hint = f.metadata, f.type if isinstance(f.type, str) else str(f.type)
    if value is None and "None" in hint:
        return None
    if hint.startswith("list") and not isinstance(value, list):
        fail(source, path, f"expected a list, e.g. [{value}], got {value!r}")
    if meta.get("choices") is not None:
        items = value if isinstance(value, list) else [value]
        if "list" in hint and not isinstance(value, list):
            fail(source, path, f"expected a list, got {value!r}")
        for item in items:
            if item not in meta["choices"]:
                fail(source, path, f"unknown value {item!r}. valid values: "
                     f"{', '.join(map(str, meta['choices']))}."
                     + suggest(item, meta["choices"]).split(".", 1)[1])
        return value
    if "date" in hint:
        return parse_date(value, source, path)
    if hint.startswith("bool"):
        return check_number(value, bool, source, path)
    if hint.startswith("int"):
        return check_number(value, int, source, path, meta["low"], meta["high"])
    if hint.startswith("float"):
        return check_number(value, float, source, path, meta["low"], meta["high"])
    if hint.startswith("str"):
        if not isinstance(value, str):
            fail(source, path, f"expected text, got {value!r}")
        return value
    return value


def build_policy(raw: dict, source: Source, path: tuple, start: dt.date,
                 world: dict) -> Policy:
    """Validate one YAML policy entry and build it, with its start and end weeks."""
    kind = raw.get("type")
    if kind is None:
        fail(source, path, f"missing 'type'. valid types: {', '.join(sorted(POLICY_TYPES))}")
    if kind not in POLICY_TYPES:
        fail(source, path + ("type",), f"unknown policy type '{kind}'. valid types: "
             f"{', '.join(sorted(POLICY_TYPES))}." + suggest(kind, POLICY_TYPES).split(".", 1)[1])
    cls = POLICY_TYPES[kind]
    valid = _policy_fields(cls)
    body = {k: v for k, v in raw.items() if k != "type"}
    check_keys(body, valid, source, path)
    if "start" not in body:
        fail(source, path + ("start",), "missing: every policy needs a start date")
    values = {k: _check_value(v, valid[k], source, path + (k,)) for k, v in body.items()}
    if values.get("end") is not None and values["end"] <= values["start"]:
        fail(source, path + ("end",), f"end {values['end']} is not after start {values['start']}")
    policy = cls(**values)
    policy.start_week = max(0, (policy.start - start).days // 7)
    if policy.end is not None:
        policy.end_week = max(0, (policy.end - start).days // 7)
    problem = policy.validate(world) if hasattr(policy, "validate") else None
    if problem:
        key, message = problem
        fail(source, path + (key,), message)
    return policy


def policies_week(model, week) -> None:
    """Phase: policies that start or end this week change state (and are recorded as events);
    then this week's levers: the parameters' after every active policy's changes, rebuilt
    unless the active policies are last week's and none of them reads the model's state
    (`Policy.modify_reads_state`), when last week's stand (nothing else changes them)."""
    n, active = week.number, []
    for policy in model.policies:
        start, end = policy.start_week, policy.end_week
        if n == start:
            policy.on_start(model)
            model.events.append(Event(n, POLICY_START, (policy.type_name,),
                                      cause=policy.describe()))
        if end is not None and n == end:
            policy.on_end(model)
            model.events.append(Event(n, POLICY_END, (policy.type_name,),
                                      cause=policy.describe()))
        if n >= start and (end is None or n < end):
            active.append(policy)
    kept = model.__dict__.get("_policies_levers")   # (active, one reads state, their levers)
    if (kept is not None and not kept[1] and kept[2] is model.levers
            and len(kept[0]) == len(active)
            and all(a is b for a, b in zip(kept[0], active, strict=True))):
        return
    levers = _fresh_levers(model)
    for policy in active:
        policy.modify(levers, model)
    model.levers = levers
    model.__dict__["_policies_levers"] = (
        active, any(policy.modify_reads_state for policy in active), levers)


def _fresh_levers(model) -> Levers:
    """`Levers.from_params` of the model's (read-only) parameters, without rebuilding it: a copy
    of the one built in the first week, its per-post and per-country arrays fresh views of one
    copied block (policies modify them in place)."""
    base = model.__dict__.get("_levers_base")
    if base is None:
        levers = Levers.from_params(model.params, len(model.posts))
        arrays = [f.name for f in fields(Levers) if isinstance(getattr(levers, f.name), np.ndarray)]
        block = np.concatenate([getattr(levers, name) for name in arrays])
        ends = np.cumsum([getattr(levers, name).size for name in arrays]).tolist()
        spans = tuple(zip(arrays, [0] + ends[:-1], ends, strict=True))
        base = model.__dict__["_levers_base"] = (dict(vars(levers)), block, spans)
    values, block, spans = base
    levers = object.__new__(Levers)
    state = levers.__dict__
    state.update(values)
    block = block.copy()
    for name, begin, end in spans:
        state[name] = block[begin:end]
    return levers
