"""Scenario files: YAML -> validated `Scenario` objects (the checks themselves are in
`sim.validation`).

Every error names the file, the line and the key path, and is raised as `ScenarioError`
(the command line turns it into exit status 2).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from sim.calibration_block import check_calibration, resolve_file
from sim.kernels import layout
from sim.network import load_world
from sim.parameter_paths import EVERY_POLICY
from sim.params import TABLE, defaults
from sim.policies import POLICY_TYPES, build_policy
from sim.validation import (
    ScenarioError,
    Source,
    check_keys,
    check_nested,
    check_number,
    fail,
    parse_date,
    read_yaml,
    shown,
    suggest,
)

__all__ = ["Scenario", "ScenarioError", "find_scenario", "load_scenario"]

MAX_EXTENDS = 16   # files in a chain of `extends` (a scenario, its parent, its parent's, ...)
# The scenarios shipped with the package: in a checkout, `sim/scenarios` is a link to the
# repository's `scenarios/` (the files users edit) and `sim/data/observed` one to `data/observed`
# (the baseline's calibration target); a wheel holds copies of both (pyproject package-data).
SHIPPED = Path(__file__).with_name("scenarios")
TOP_LEVEL_KEYS = ("name", "description", "extends", "start", "weeks", "years", "seed",
                  "parameters", "policies", "network", "calibration", "posterior")


def check_parameters(overrides, source: Source) -> None:
    spec = {group: {key: (type(p.value), p.low, p.high) for key, p in params.items()}
            for group, params in TABLE.items()}
    check_nested(overrides, spec, source, ("parameters",))


def merge(parent: dict, child: dict) -> dict:
    """Key-by-key merge of nested mappings; the child wins."""
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_policies(parent: list, child: list) -> list:
    """Child policies are added; a child with a parent's `id` replaces it, or drops it with
    `enabled: false`."""
    out = [copy.deepcopy(p) for p in parent]
    for policy in child:
        pid = policy.get("id") if isinstance(policy, dict) else None
        index = next((i for i, p in enumerate(out) if pid is not None and p.get("id") == pid), None)
        if index is None:
            out.append(copy.deepcopy(policy))
        elif policy.get("enabled", True) is False and set(policy) <= {"id", "enabled",
                                                                      "__source__"}:
            out[index]["enabled"] = False
        else:
            out[index] = copy.deepcopy(policy)
    return out


class Frozen(dict):
    """A read-only dict: a validated scenario's parameters, world and record cannot be changed
    in place (a changed scenario is a new one, from `Scenario.with_overrides`)."""

    def _read_only(self, *args, **kwargs):
        raise TypeError("a validated scenario is read-only; use Scenario.with_overrides")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):
        return Frozen, (dict(self),)


def freeze(value):
    """Mappings as `Frozen`, lists as tuples, all the way down."""
    if isinstance(value, dict):
        return Frozen({key: freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value):
    """A frozen value as plain, mutable dicts and lists (a fresh copy)."""
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


OVERRIDES = Source(Path("overrides"))   # where an override given in code "comes from"


def check_override(path: str, value, source: Source = OVERRIDES):
    """A parameter override by dotted path (`users.naloxone_coverage`), checked against the
    parameter table as a scenario file's `parameters:` is; returns the value in its type."""
    group, _, key = path.partition(".")
    if group not in TABLE or key not in TABLE[group]:
        valid = [f"{g}.{k}" for g, params in TABLE.items() for k in params]
        fail(source, (path,), f"unknown parameter. {suggest(path, valid)}")
    p = TABLE[group][key]
    return check_number(value, type(p.value), source, (path,), p.low, p.high)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: everything needed to build a model. Frozen: parameters, world and
    the resolved record are read-only, so a model or a study can never change the scenario
    another one uses; `with_overrides` makes a changed copy."""

    name: str
    description: str
    start: dt.date
    weeks: int
    seed: int
    parameters: Frozen
    policies: tuple
    world: Frozen
    file: Path
    resolved: Frozen
    calibration: object = None   # sim.calibration_block.CalibrationSpec; not in `resolved`
    posterior: Path | None = None   # draws `compare` takes parameters from; not in `resolved`

    @property
    def sha256(self) -> str:
        text = json.dumps(self.resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(self, parameters: dict | None = None, seed: int | None = None,
                       weeks: int | None = None, source: Source = OVERRIDES) -> Scenario:
        """A new scenario with values set by dotted key, each checked as in a scenario file (an
        error names the key and `source`): parameters (`users.naloxone_coverage`), a policy's
        fields by its `id` (`policies.<id>.<field>`; `policies.*.<field>`: that field of every
        policy that has it) and network entries
        (`network.customs_posts.<post>.<field>`, `network.cartels.<cartel>.<field>`, ...); a new
        seed or a shorter/longer horizon."""
        resolved, values = thaw(self.resolved), thaw(self.parameters)
        new_policies = new_world = False
        for path, value in (parameters or {}).items():
            if not isinstance(path, str):
                fail(source, (repr(path),), "expected a dotted key (text), e.g. "
                     "'users.naloxone_coverage'")
            head, _, rest = path.partition(".")
            if head == "policies":
                _set_policy_field(resolved.setdefault("policies", []), rest, value, source)
                new_policies = True
            elif head == "network":
                _set_nested(resolved, path, value, source)
                new_world = True
            else:
                group, key = head, rest
                values[group][key] = resolved.setdefault("parameters", {}).setdefault(group, {})[
                    key] = check_override(path, value, source)
        problem = layout.size_problem(values)
        if problem is not None:
            fail(source, (".".join(problem[0]),), problem[1])
        changes = {"parameters": freeze(values)}
        if new_world:   # the world file is read and checked again, route search included
            changes["world"] = freeze(load_world(resolved.get("network"), source))
        if new_world or new_policies:   # checked against the world, new or as it was
            changes["policies"] = build_policies(
                [(record, source, ("policies", record.get("id", i)))
                 for i, record in enumerate(resolved.get("policies", []))], self.start,
                changes.get("world", self.world))
        if seed is not None:
            changes["seed"] = resolved["seed"] = check_number(seed, int, source, ("seed",), 0,
                                                              2**63 - 1)
        if weeks is not None:
            changes["weeks"] = resolved["weeks"] = check_number(weeks, int, source,
                                                                ("weeks",), 1, 5218)
        return dataclasses.replace(self, resolved=freeze(resolved), **changes)


def _set_policy_field(records: list, key: str, value, source: Source) -> None:
    """`<id>.<field>` of `policies.<id>.<field>`: set the field of the policy with that id (in
    the resolved record; `build_policies` checks it as a scenario file's policy is)."""
    pid, _, name = key.partition(".")
    ids = [r["id"] for r in records if isinstance(r.get("id"), str)]
    if not name or "." in name:
        fail(source, (f"policies.{key}",), "expected policies.<id>.<field>, e.g. "
             f"policies.{ids[0] if ids else 'my_policy'}.start")
    if pid == EVERY_POLICY:
        having = [r for r in records if name in getattr(POLICY_TYPES.get(r.get("type")),
                                                        "__dataclass_fields__", {})]
        if not having:
            fail(source, (f"policies.{key}",), f"no policy of the scenario has a field {name!r}")
        for record in having:
            record[name] = value
        return
    for record in records:
        if record.get("id") == pid:
            record[name] = value
            return
    fail(source, ("policies", pid), f"no policy with this id. valid ids: {', '.join(ids)}."
         + suggest(pid, ids).split(".", 1)[1])


def _set_nested(resolved: dict, path: str, value, source: Source) -> None:
    """Set `network.<list>.<name>.<field>` (or `network.file`) in the resolved record;
    `load_world` checks it as a scenario file's `network:` block is."""
    keys = path.split(".")
    here = resolved
    for depth, key in enumerate(keys[:-1]):
        here = here.setdefault(key, {})
        if not isinstance(here, dict):
            fail(source, tuple(keys[:depth + 1]), "is a value, not a mapping of entries")
    here[keys[-1]] = value


def build_policies(raw: list[tuple[dict, Source, tuple]], start: dt.date, world: dict) -> tuple:
    """Build and check each (policy entry, its source, its key path); the enabled ones that act
    within the run (a policy over before the scenario starts, or within one week, never acts)."""
    policies = []
    for spec, source, path in raw:
        policy = build_policy(spec, source, path, start, world)
        never_active = policy.end_week is not None and policy.end_week <= policy.start_week
        if policy.enabled and not never_active:
            policies.append(policy)
    return tuple(policies)


def _resolve(path: Path, chain: tuple) -> tuple[dict, list, dict[str, Source]]:
    """Raw merged dict after `extends`, the policies with their sources, and key sources."""
    path = path.resolve()
    if path in chain:
        names = " -> ".join(str(p) for p in chain + (path,))
        raise ScenarioError(f"{path}: extends: circular extends ({names})")
    data, source = read_yaml(path)
    check_keys(data, TOP_LEVEL_KEYS, source, ())
    policies = data.get("policies", []) or []
    if not isinstance(policies, list):
        fail(source, ("policies",), "expected a list of policies")
    tagged = []
    for i, policy in enumerate(policies):
        if not isinstance(policy, dict):
            fail(source, ("policies", i), f"expected a mapping with a 'type', got {shown(policy)}")
        if not isinstance(policy.get("type", ""), str):
            fail(source, ("policies", i, "type"), f"expected a policy type name, got "
                 f"{shown(policy['type'])}")
        tagged.append({**policy, "__source__": (source, ("policies", i))})
    if "parameters" in data:
        check_parameters(data["parameters"], source)
    network = data.get("network")
    if isinstance(network, dict) and isinstance(network.get("file"), str):
        network["file"] = str(path.parent / network["file"])  # relative to the declaring file
    resolve_file(data.get("calibration"), path)
    if isinstance(data.get("posterior"), str):
        data["posterior"] = str(path.parent / data["posterior"])   # relative to its file
    parent = data.get("extends")
    if parent is None:
        return data, tagged, source
    if not isinstance(parent, str):
        fail(source, ("extends",), f"expected a file name, got {shown(parent)}")
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        fail(source, ("extends",), f"file '{parent}' not found (looked for {parent_path})")
    if not parent_path.is_file():
        fail(source, ("extends",), f"'{parent}' is not a regular file (looked at {parent_path})")
    if len(chain) + 2 > MAX_EXTENDS:
        fail(source, ("extends",), f"more than {MAX_EXTENDS} files in a chain of extends")
    base, base_policies, _ = _resolve(parent_path, chain + (path,))
    for horizon, other in (("weeks", "years"), ("years", "weeks")):
        if horizon in data:
            base.pop(other, None)   # a child's horizon replaces its parent's, in either unit
    merged = merge({k: v for k, v in base.items() if k not in ("policies", "name")},
                   {k: v for k, v in data.items() if k not in ("policies", "extends")})
    merged.pop("extends", None)
    return merged, merge_policies(base_policies, tagged), source


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (`extends`) and validate a scenario file."""
    path = Path(path)
    data, raw_policies, source = _resolve(path, ())
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in (
            ".", ".."):
        fail(source, ("name",), f"expected a name of letters, digits, '_', '-' or '.' (it "
             f"names the results folder), got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        fail(source, ("description",), f"expected text, got {description!r}")
    start = parse_date(data.get("start", "2016-01-04"), source, ("start",))
    start = start - dt.timedelta(days=start.weekday())  # the week's Monday
    if "weeks" in data and "years" in data:
        fail(source, ("years",), "give either weeks or years, not both")
    if "years" in data:
        years = check_number(data["years"], float, source, ("years",), 0.02, 100)
        weeks = max(1, round(years * 52.1775))
    else:
        weeks = check_number(data.get("weeks", 782), int, source, ("weeks",), 1, 5218)
    seed = check_number(data.get("seed", 42), int, source, ("seed",), 0, 2**63 - 1)
    parameters = merge(defaults(), data.get("parameters") or {})
    problem = layout.size_problem(parameters)
    if problem is not None:
        fail(source, ("parameters", *problem[0]), problem[1])
    world = load_world(data.get("network"), source)
    policies = build_policies(
        [({k: v for k, v in raw.items() if k != "__source__"}, *raw["__source__"])
         for raw in raw_policies], start, world)
    calibration = check_calibration(data.get("calibration"), source, policies)
    posterior = _check_posterior(data.get("posterior"), source, policies)
    resolved = {k: v for k, v in data.items() if k not in ("policies", "calibration",
                                                            "posterior")}
    resolved.update(name=name, start=start.isoformat(), weeks=weeks, seed=seed,
                    parameters=parameters,
                    policies=[{k: v for k, v in p.items() if k != "__source__"}
                              for p in raw_policies])
    return Scenario(name=name, description=description, start=start, weeks=weeks, seed=seed,
                    parameters=freeze(parameters), policies=policies, world=freeze(world),
                    file=path, resolved=freeze(resolved), calibration=calibration,
                    posterior=posterior)


def _check_posterior(value, source: Source, policies) -> Path | None:
    """`posterior:` a CSV file of draws (beside the scenario), checked as `compare` uses it."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        fail(source, ("posterior",), f"expected a CSV file name (posterior.csv of `run.py "
             f"calibrate --method posterior`), got {shown(value)}")
    from sim.posterior_file import read_posterior

    try:
        read_posterior(Path(value), policies)
    except ScenarioError as err:
        fail(source, ("posterior",), str(err))
    return Path(value)


def shipped_scenarios() -> list[str]:
    """The names of the scenarios shipped with the package."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def find_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (`"baseline"`), or a scenario file by path (a `Path`, or text
    with a folder or a .yaml ending), loaded and validated."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return load_scenario(name_or_path)
    names = shipped_scenarios()
    if text not in names:
        raise ScenarioError(f"{text}: no scenario of this name ships with the package (a file "
                            f"needs its path, e.g. {text}.yaml). valid names: {', '.join(names)}."
                            + suggest(text, names).split(".", 1)[1])
    return load_scenario(SHIPPED / f"{text}.yaml")


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A `Scenario` as it is; a name or path through `find_scenario`."""
    return scenario if isinstance(scenario, Scenario) else find_scenario(scenario)
