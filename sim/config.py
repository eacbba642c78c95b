"""Scenario files: YAML -> validated `Scenario` objects.

Every error names the file, the line and the key path, and is raised as `ScenarioError`
(the command line turns it into exit status 2).
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sim.params import TABLE, defaults

TOP_LEVEL_KEYS = ("name", "description", "extends", "start", "weeks", "years", "seed",
                  "parameters", "policies", "network", "calibration")
EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)


class ScenarioError(ValueError):
    """A scenario that cannot be run, with where and why."""


@dataclass
class Source:
    """Where a value came from: the file and the YAML line of each key path."""

    file: Path
    lines: dict[tuple, int] = field(default_factory=dict)

    def where(self, path: tuple) -> str:
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        return f"{self.file}:{line}" if line else f"{self.file}"


def fail(source: Source, path: tuple, message: str) -> None:
    key = ".".join(str(p) for p in path) or "(top level)"
    raise ScenarioError(f"{source.where(path)}: {key}: {message}")


def suggest(word: str, valid) -> str:
    valid = list(valid)
    close = difflib.get_close_matches(str(word), valid, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"valid keys: {', '.join(valid)}.{hint}"


def _collect_lines(node, path: tuple, lines: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = path + (key_node.value,)
            lines[key_path] = key_node.start_mark.line + 1
            _collect_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _collect_lines(item, path + (i,), lines)


# PyYAML's libyaml parser when it was built with it (the wheels are): the same documents, about
# ten times faster on the network file.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str):
    """`yaml.safe_load` through `SAFE_LOADER`."""
    return yaml.load(text, Loader=SAFE_LOADER)


class _Loader(SAFE_LOADER):
    """SafeLoader that leaves dates as text, so `parse_date` checks them with their line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> tuple[dict, Source]:
    """Parse a YAML mapping and record the line of every key."""
    source = Source(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err.strerror}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(f"{where}: malformed YAML: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario keys at the top level, "
                            f"got {type(data).__name__}")
    _collect_lines(node, (), source.lines)
    return data, source


def parse_date(value, source: Source, path: tuple) -> dt.date:
    """`YYYY-MM` (first of the month) or `YYYY-MM-DD`, within 1990-2100."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = (dt.date.fromisoformat(value + "-01") if len(value) == 7
                      else dt.date.fromisoformat(value))
        except ValueError:
            fail(source, path, f"expected a date YYYY-MM or YYYY-MM-DD, got '{value}'")
    else:
        fail(source, path, f"expected a date YYYY-MM or YYYY-MM-DD, got {value!r}")
    if not EARLIEST <= parsed <= LATEST:
        fail(source, path, f"date {parsed} out of range ({EARLIEST} to {LATEST})")
    return parsed


def check_number(value, kind: type, source: Source, path: tuple, low=None, high=None):
    """Type and range check for a scalar; ints are accepted where floats are expected."""
    if kind is bool:
        if not isinstance(value, bool):
            fail(source, path, f"expected true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(source, path, f"expected a number ({kind.__name__}), got {value!r}")
    if not math.isfinite(value):
        fail(source, path, f"expected a finite number, got {value!r}")
    if kind is int and not float(value).is_integer():
        fail(source, path, f"expected a whole number, got {value!r}")
    value = kind(value)
    if (low is not None and value < low) or (high is not None and value > high):
        fail(source, path, f"{value} is out of range [{low}, {high}]")
    return value


def check_keys(data: dict, valid, source: Source, path: tuple) -> None:
    for key in data:
        if key not in valid:
            fail(source, path + (key,), f"unknown key. {suggest(key, valid)}")


def check_nested(data, spec: dict, source: Source, path: tuple) -> dict:
    """Validate {name: {key: number}} against spec[name][key] = (type, low, high); returns the
    numbers converted to their types."""
    if not isinstance(data, dict):
        fail(source, path, f"expected a mapping of names ({', '.join(spec)}) to values")
    check_keys(data, spec, source, path)
    out = {}
    for name, values in data.items():
        if not isinstance(values, dict):
            fail(source, path + (name,), f"expected a mapping of {', '.join(spec[name])}")
        check_keys(values, spec[name], source, path + (name,))
        out[name] = {}
        for key, value in values.items():
            kind, low, high = spec[name][key]
            out[name][key] = check_number(value, kind, source, path + (name, key), low, high)
    return out


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


@dataclass
class Scenario:
    """A validated scenario: everything needed to build a model."""

    name: str
    description: str
    start: dt.date
    weeks: int
    seed: int
    parameters: dict
    policies: list
    world: dict
    file: Path
    resolved: dict
    calibration: object = None   # sim.calibration_block.CalibrationSpec; not in `resolved`

    @property
    def sha256(self) -> str:
        text = json.dumps(self.resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(self, seed: int | None = None, weeks: int | None = None) -> Scenario:
        """The same scenario with a new seed or a shorter/longer horizon."""
        out = copy.copy(self)
        out.resolved = copy.deepcopy(self.resolved)
        if seed is not None:
            out.seed = out.resolved["seed"] = seed
        if weeks is not None:
            out.weeks = out.resolved["weeks"] = weeks
        return out


def _resolve(path: Path, chain: tuple) -> tuple[dict, list, dict[str, Source]]:
    """Raw merged dict after `extends`, the policies with their sources, and key sources."""
    from sim.calibration_block import resolve_file

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
            fail(source, ("policies", i), f"expected a mapping with a 'type', got {policy!r}")
        tagged.append({**policy, "__source__": (source, ("policies", i))})
    if "parameters" in data:
        check_parameters(data["parameters"], source)
    network = data.get("network")
    if isinstance(network, dict) and isinstance(network.get("file"), str):
        network["file"] = str(path.parent / network["file"])  # relative to the declaring file
    resolve_file(data.get("calibration"), path)
    parent = data.get("extends")
    if parent is None:
        return data, tagged, source
    if not isinstance(parent, str):
        fail(source, ("extends",), f"expected a file name, got {parent!r}")
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        fail(source, ("extends",), f"file '{parent}' not found (looked for {parent_path})")
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
    from sim.calibration_block import check_calibration
    from sim.network import load_world
    from sim.policies import build_policy

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
    world = load_world(data.get("network"), source)
    policies = []
    for raw in raw_policies:
        psource, ppath = raw["__source__"]
        spec = {k: v for k, v in raw.items() if k != "__source__"}
        policy = build_policy(spec, psource, ppath, start, world)
        # a policy over before the scenario starts (or within one week) never acts
        never_active = policy.end_week is not None and policy.end_week <= policy.start_week
        if policy.enabled and not never_active:
            policies.append(policy)
    calibration = check_calibration(data.get("calibration"), source)
    resolved = {k: v for k, v in data.items() if k not in ("policies", "calibration")}
    resolved.update(name=name, start=start.isoformat(), weeks=weeks, seed=seed,
                    parameters=parameters,
                    policies=[{k: v for k, v in p.items() if k != "__source__"}
                              for p in raw_policies])
    return Scenario(name=name, description=description, start=start, weeks=weeks, seed=seed,
                    parameters=parameters, policies=policies, world=world, file=path,
                    resolved=resolved, calibration=calibration)
